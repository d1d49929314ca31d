/** Vitest global setup of the process tests: they run what `npm run build` writes to `dist/`. */
import { spawnSync } from "node:child_process";

export function setup(): void {
  const build = spawnSync("npm", ["run", "build", "--silent"], {
    cwd: new URL("../..", import.meta.url),
    encoding: "utf8",
  });
  if (build.status !== 0) {
    throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`);
  }
}
