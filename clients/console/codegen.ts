// Generates src/gql/: typed document nodes (GraphQL Code Generator's client preset) for every
// operation in src/operations/*.graphql, checked against the service's exported schema.
// `make console` runs it; CI fails when the checked-in output or the built console is stale.
//
// src/operations/insight/ and src/operations/live/ hold the operations of the insight API
// (chatSpendHistory, chatSpendRanking, chatUsageLimitChanges, warningThresholdsPercent) and the
// myChatUsageLimitStatus subscription. They were kept out of generation while ../../schema.graphql
// lacked those fields; it has them now, so they are validated and typed here like the rest.
// INCLUDE_INSIGHT stays as a switch only so a console can still be built against an older schema
// (CONSOLE_CODEGEN_INSIGHT=0); the screens still ask the server which fields it has
// (src/lib/capabilities.ts).
import type { CodegenConfig } from "@graphql-codegen/cli";

const INCLUDE_INSIGHT = process.env.CONSOLE_CODEGEN_INSIGHT !== "0";

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
