// The JavaScript reference relay for `cargo xtask bench compare`: what the
// automerge-repo-sync-server does, without Express. A `ws` WebSocketServer
// on loopback, a Repo with the WebSocket server adapter and NodeFS storage,
// and `sharePolicy: async () => false`, so a peer gets only the documents it
// announces or asks for by id (everything received is stored).
//
// usage: node tests/bench/reference-server.mjs <port> <data-dir>
// Prints "listening <port>" on stdout once it accepts connections.
import { hostname } from "node:os";
import { Repo } from "@automerge/automerge-repo";
import { WebSocketServerAdapter } from "@automerge/automerge-repo-network-websocket";
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs";
import { WebSocketServer } from "ws";

const [port, dataDir] = process.argv.slice(2);
if (!port || !dataDir) {
  console.error("usage: node tests/bench/reference-server.mjs <port> <data-dir>");
  process.exit(2);
}

const wss = new WebSocketServer({ host: "127.0.0.1", port: Number(port) });
const repo = new Repo({
  network: [new WebSocketServerAdapter(wss)],
  storage: new NodeFSStorageAdapter(dataDir),
  peerId: `storage-server-${hostname()}`,
  sharePolicy: async () => false,
});

wss.on("listening", () => console.log(`listening ${port}`));
wss.on("error", (e) => {
  console.error(`reference server: ${e.message}`);
  process.exit(1);
});

async function stop() {
  try {
    wss.close();
    await repo.shutdown();
  } finally {
    process.exit(0);
  }
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
