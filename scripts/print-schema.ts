/**
 * Writes `schema.graphql`: the subgraph SDL (with federation directives), sorted so diffs stay
 * small. `--check` fails instead of writing when the file is stale, for `npm run check`.
 */
import { readFile, writeFile } from "node:fs/promises";
import { printSubgraphSchema } from "@apollo/subgraph";
import { lexicographicSortSchema } from "graphql";
import { schema } from "../src/schema/index.ts";

const target = new URL("../schema.graphql", import.meta.url);
const printed = `${printSubgraphSchema(lexicographicSortSchema(schema)).trim()}\n`;

if (process.argv.includes("--check")) {
  const current = await readFile(target, "utf8").catch(() => "");
  if (current !== printed) {
    process.stderr.write("schema.graphql is stale: run `npm run schema` and commit the result.\n");
    process.exit(1);
  }
} else {
  await writeFile(target, printed);
  process.stdout.write(`wrote ${target.pathname}\n`);
}
