import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Integration tests bind real sockets on 127.0.0.1; a generous timeout absorbs noisy shared machines.
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: "forks",
  },
});
