// Preloaded with `--import` into a gateway process: at exit, writes the URL of every script V8
// compiled (ES modules and CommonJS alike) to RECORD_SCRIPTS_TO, one per line, so a test can
// see which modules a configuration loads.
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";

const urls = new Set();
const session = new Session();
session.connect();
session.on("Debugger.scriptParsed", ({ params }) => {
  if (params.url) urls.add(params.url);
});
session.post("Debugger.enable");
process.on("exit", () => {
  writeFileSync(process.env.RECORD_SCRIPTS_TO, [...urls].join("\n"));
});
