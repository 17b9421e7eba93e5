// The thread behind SignatureWorker (signatures.ts): each message is a batch of jobs, answered
// in one message, in order: a signature's bytes, a verification's result, or null if signing failed.
import type { KeyObject } from "node:crypto";
import { sign, verify } from "node:crypto";
import { parentPort } from "node:worker_threads";
import type { SignatureBatch } from "./signatures.ts";

const keys = new Map<number, KeyObject>();

parentPort!.on("message", (m: SignatureBatch) => {
  if (m.clear) keys.clear();
  for (const [id, key] of m.keys) keys.set(id, key);
  const out: Array<Uint8Array | boolean | null> = [];
  for (const op of m.ops) {
    const key = keys.get(op.key);
    try {
      if (!key) throw new Error("unknown key");
      const data = Buffer.from(op.data);
      if (op.kind === 0) out.push(op.alg === 0 ? sign(null, data, key) : sign("sha256", data, { key, dsaEncoding: "ieee-p1363" }));
      else out.push(op.alg === 0 ? verify(null, data, key, op.sig!) : verify("sha256", data, { key, dsaEncoding: "ieee-p1363" }, op.sig!));
    } catch {
      out.push(op.kind === 0 ? null : false);
    }
  }
  parentPort!.postMessage({ id: m.id, out });
});
