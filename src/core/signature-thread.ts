// The thread behind SignatureWorker (signatures.ts): each message is a batch of jobs, answered
// in one message, in order: a signature's bytes, a verification's result, or null if signing failed.
import type { KeyObject } from "node:crypto";
import { sign, verify } from "node:crypto";
import { parentPort } from "node:worker_threads";
import { cryptoArgs } from "./signatures.ts";
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
      const [algorithm, k] = cryptoArgs(op.alg === 0 ? "EdDSA" : "ES256", key);
      const data = Buffer.from(op.data);
      out.push(op.kind === 0 ? sign(algorithm, data, k) : verify(algorithm, data, k, op.sig!));
    } catch {
      out.push(op.kind === 0 ? null : false);
    }
  }
  parentPort!.postMessage({ id: m.id, out });
});
