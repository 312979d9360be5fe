// The automerge-repo sync protocol by hand, for pulls that leave out the
// repo's own work: one WebSocket, `join`, then per document a `request`
// carrying an empty document's sync message. Used by compare.mjs (the
// bare-client pull row) and pull-frames.mjs (--bare).
import * as A from "@automerge/automerge";
import { cbor } from "@automerge/automerge-repo";
import { WebSocket } from "ws";

/** A document's heads as the benches compare them. */
export const sortedHeads = (h) => [...h].sort().join(",");

/**
 * Connects and joins. `note(dir, message, bytes)` sees every frame but
 * the server's `peer` answer (for logging). With `apply: false` a document
 * counts as pulled when a sync frame carrying changes names its heads,
 * without applying it (the client then costs next to nothing).
 *
 * `pull(id, heads)` resolves true once the document has `heads` (as
 * `sortedHeads` writes them), false when the server answers
 * `doc-unavailable` or `error`.
 */
export async function bareClient(url, { note = () => {}, apply = true } = {}) {
  const me = `bare-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  await new Promise((resolve, reject) => (ws.once("open", resolve), ws.once("error", reject)));
  const send = (m) => {
    const bytes = cbor.encode(m);
    note("out", m, bytes.byteLength);
    ws.send(bytes);
  };
  const docs = new Map();
  let serverId = null;
  const peered = new Promise((resolve) => {
    ws.on("message", (data) => {
      const m = cbor.decode(new Uint8Array(data));
      if (m.type === "peer") {
        serverId = m.senderId;
        resolve();
        return;
      }
      note("in", m, data.byteLength);
      const d = docs.get(m.documentId);
      if (!d) return;
      if (m.type === "sync" && !apply) {
        const s = A.decodeSyncMessage(new Uint8Array(m.data));
        if (s.changes.length > 0 && sortedHeads(s.heads) === d.heads) d.done(true);
      } else if (m.type === "sync") {
        [d.doc, d.state] = A.receiveSyncMessage(d.doc, d.state, new Uint8Array(m.data));
        if (sortedHeads(A.getHeads(d.doc)) === d.heads) d.done(true);
      } else if (m.type === "doc-unavailable" || m.type === "error") {
        d.done(false);
      }
    });
  });
  send({ type: "join", senderId: me, peerMetadata: { isEphemeral: true }, supportedProtocolVersions: ["1"] });
  await peered;
  return {
    async pull(id, heads) {
      const d = { doc: A.init(), state: A.initSyncState(), heads };
      const done = new Promise((resolve) => (d.done = resolve));
      docs.set(id, d);
      const [state, msg] = A.generateSyncMessage(d.doc, d.state);
      d.state = state;
      send({ type: "request", senderId: me, targetId: serverId, documentId: id, data: msg });
      const pulled = await done;
      docs.delete(id);
      return pulled;
    },
    close: () => ws.close(),
  };
}
