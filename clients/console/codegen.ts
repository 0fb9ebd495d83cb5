// Generates src/gql/: typed document nodes (GraphQL Code Generator's client preset) for every
// operation in src/operations/*.graphql, checked against the service's exported schema.
// `make console` runs it; CI fails when the checked-in output or the built console is stale.
//
// src/operations/insight/ and src/operations/live/ use fields the insight and live-status work
// adds (chatSpendHistory, chatSpendRanking, chatUsageLimitChanges, warningThresholdsPercent,
// the myChatUsageLimitStatus subscription). Until ../../schema.graphql has them they are left out
// of generation (validating them would fail); the console loads them as text and types their
// results by hand (src/insight/types.ts), and shows their screens only when the server's schema
// has the fields (src/lib/capabilities.ts). Once the schema has them, set CONSOLE_CODEGEN_INSIGHT=1
// (or flip INCLUDE_INSIGHT below) to validate and type them here too.
import type { CodegenConfig } from "@graphql-codegen/cli";

const INCLUDE_INSIGHT = process.env.CONSOLE_CODEGEN_INSIGHT === "1";

const config: CodegenConfig = {
  schema: "../../schema.graphql",
  documents: [
    "src/operations/*.graphql",
    ...(INCLUDE_INSIGHT ? ["src/operations/insight/*.graphql", "src/operations/live/*.graphql"] : []),
  ],
  generates: {
    "src/gql/": {
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: {
        // Every custom scalar must be mapped: an unmapped one would silently become `any`.
        strictScalars: true,
        scalars: {
          // Integer micro-dollars, at most 2^53 - 1, so a JavaScript number holds them exactly.
          Micros: "number",
          // RFC 3339 text, always UTC.
          DateTime: "string",
        },
        onlyOperationTypes: true,
        enumsAsTypes: true,
        useTypeImports: true,
        avoidOptionals: { field: true },
      },
    },
  },
};

export default config;
