// Builds the console into the Python package (src/spendlimits/static/console/), served at /console.
// The output must be byte-for-byte reproducible: CI rebuilds it and fails when it differs from the
// committed one, so nothing here may depend on the time or the machine (content-hashed names only).
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

export default defineConfig({
  base: "/console/",
  plugins: [react()],
  build: {
    outDir: "../../src/spendlimits/static/console",
    emptyOutDir: true,
    // No source maps: they would double the package and name build paths.
    sourcemap: false,
    // Every asset is a file of its own (no data: URLs), which keeps the page's CSP simple.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1024,
  },
  test: {
    include: ["src/**/*.test.ts"],
  },
});
