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
    // Integration tests bind real sockets on 127.0.0.1; a generous timeout absorbs noisy shared machines.
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: "forks",
    projects: [
      {
        extends: true,
        test: { name: "in-process", include: ["test/**/*.test.ts"], exclude: ["test/process/**"] },
      },
      {
        // The gateway as operators run it: `npm run build` once (only when one of these tests
        // is selected), then real processes.
        extends: true,
        test: {
          name: "process",
          include: ["test/process/**/*.test.ts"],
          globalSetup: ["test/process/build.ts"],
        },
      },
    ],
  },
});
