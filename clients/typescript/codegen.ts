// Generates src/gql/: a typed document (TypedDocumentString) and result/variable types for every
// operation in operations/, checked against the service's exported schema, and
// persisted-documents.json, the manifest {sha256 of the document text: the text} that the server
// loads as its trusted documents (`make client` copies it to
// src/spendlimits/static/trusted-documents.json). CI fails when the checked-in output is stale.
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../../schema.graphql",
  documents: "operations/*.graphql",
  // Generated code has no stray formatting differences between machines.
  emitLegacyCommonJSImports: false,
  generates: {
    "src/gql/": {
      preset: "client",
      presetConfig: {
        // Results are plain typed objects: no fragment masking to unwrap with useFragment().
        fragmentMasking: false,
        // The server hashes the exact text with SHA-256; so must the manifest.
        persistedDocuments: { hashAlgorithm: "sha256" },
      },
      config: {
        // Documents are strings (with their hash in __meta__): fetch needs no GraphQL runtime.
        documentMode: "string",
        // Every custom scalar must be mapped: an unmapped one would silently become `any`.
        strictScalars: true,
        scalars: {
          // Integer micro-dollars, at most 2^53 - 1, so a JavaScript number holds them exactly.
          Micros: "number",
          // RFC 3339 text, always UTC; parse it with `new Date(...)` where a Date is wanted.
          DateTime: "string",
        },
        onlyOperationTypes: true,
        enumsAsTypes: true,
        useTypeImports: true,
        // Results always carry every selected field (null, not missing); optional inputs stay optional.
        avoidOptionals: { field: true },
      },
    },
  },
};

export default config;
