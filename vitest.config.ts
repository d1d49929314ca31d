import { createRequire } from "node:module";
import { defineConfig } from "vitest/config";

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // Node resolves `graphql` to its CommonJS build (no "exports" map, so "main" wins), and so do
    // the dependencies vitest leaves to Node. Vite would pick the ES module build for our own
    // files, and two copies of graphql refuse each other's schemas; point both at the same one.
    alias: [{ find: /^graphql$/, replacement: require.resolve("graphql") }],
  },
  test: {
    include: ["test/**/*.test.ts"],
    // Integration tests bind real sockets on 127.0.0.1; a generous timeout absorbs noisy shared machines.
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: "forks",
  },
});
