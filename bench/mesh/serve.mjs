// GraphQL Mesh serving for bench/gateway.ts --mesh: the supergraph mesh-compose built from the
// OpenAPI description (BENCH_MESH_SUPERGRAPH), served by Hive Gateway's runtime, Mesh's serving
// half, with its defaults (info logs, masked errors, its plugins), on node:http like the other
// servers of the bench. The REST transport reads BENCH_UPSTREAM_URL and BENCH_TOKEN on every
// request (see mesh.config.mjs). Plain JavaScript, so the root's type check never needs this
// folder's node_modules, which is installed only for this baseline (bench/mesh.ts).
import { createServer } from "node:http";
import { createGatewayRuntime } from "@graphql-hive/gateway-runtime";

const gateway = createGatewayRuntime({ supergraph: process.env.BENCH_MESH_SUPERGRAPH });
const server = createServer(gateway);
server.listen(0, "127.0.0.1", () => {
  process.send?.({ url: `http://127.0.0.1:${server.address().port}/graphql` });
});
process.on("SIGTERM", () => {
  server.closeAllConnections();
  server.close(() => void gateway.dispose().then(() => process.exit(0)));
});
