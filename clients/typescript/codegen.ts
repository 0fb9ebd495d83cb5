// Generates src/generated.ts: a TypeScript type for every operation in operations/, checked
// against the service's exported schema. `make client` runs it; CI fails when the checked-in
// output is stale.
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../../schema.graphql",
  documents: "operations/*.graphql",
  generates: {
    "src/generated.ts": {
      plugins: ["typescript", "typescript-operations"],
      config: {
        // Every custom scalar must be mapped: an unmapped one would silently become `any`.
        strictScalars: true,
        scalars: {
          // Integer micro-dollars, at most 2^53 - 1, so a JavaScript number holds them exactly.
          Micros: "number",
          // RFC 3339 text, always UTC; parse it with `new Date(...)` where a Date is wanted.
          DateTime: "string",
        },
        // Only the input and enum types the operations use, not the whole schema.
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
