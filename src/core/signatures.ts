import type { KeyObject } from "node:crypto";
import { sign as cryptoSign, verify as cryptoVerify } from "node:crypto";
import { Worker } from "node:worker_threads";
import { siblingModuleUrl } from "./module-url.ts";

export type SignatureAlg = "EdDSA" | "ES256";

/**
 * Where signatures are made and checked off the engine's thread. EdDSA, or ES256 as r||s
 * (ieee-p1363), over the UTF-8 of `data`.
 */
export interface SignatureService {
  sign(alg: SignatureAlg, key: KeyObject, data: string): Promise<Buffer>;
  /** Never rejects: a signature that cannot be checked is false. */
  verify(alg: SignatureAlg, key: KeyObject, data: string, signature: Uint8Array): Promise<boolean>;
}

/**
 * node:crypto's (algorithm, key) arguments for an alg: the one place that knows EdDSA takes no
 * digest and ES256 is SHA-256 with r||s signatures.
 */
export function cryptoArgs(alg: SignatureAlg, key: KeyObject): [string | null, KeyObject | { key: KeyObject; dsaEncoding: "ieee-p1363" }] {
  return alg === "EdDSA" ? [null, key] : ["sha256", { key, dsaEncoding: "ieee-p1363" }];
}

/** node:crypto's callback form: one job on libuv's thread pool per signature. The default. */
export const threadPoolSignatures: SignatureService = {
  sign: (alg, key, data) => new Promise((resolve, reject) => {
    const [algorithm, k] = cryptoArgs(alg, key);
    cryptoSign(algorithm, Buffer.from(data), k, (e, sig) => (e ? reject(e) : resolve(sig)));
  }),
  verify: (alg, key, data, signature) => new Promise((resolve) => {
    try {
      const [algorithm, k] = cryptoArgs(alg, key);
      cryptoVerify(algorithm, Buffer.from(data), k, signature, (e, ok) => resolve(!e && ok));
    } catch {
      resolve(false);
    }
  }),
};

/** One signature job as sent to the thread: kind 0 signs, 1 verifies; alg 0 EdDSA, 1 ES256. */
export interface SignatureOp {
  kind: 0 | 1;
  alg: 0 | 1;
  key: number;
  data: string;
  sig?: Uint8Array;
}

export interface SignatureBatch {
  id: number;
  /** Forget every key before reading `keys` (the cache reached its limit). */
  clear: boolean;
  keys: Array<[number, KeyObject]>;
  ops: SignatureOp[];
}

/** Jobs per message: bounds a message's size and the wait of the first job in it. */
const MAX_BATCH = 32;
/** Keys the thread keeps; past this it starts over, and keys are sent again as they are used. */
const MAX_KEYS = 4_096;

interface Waiter {
  resolve: (v: Buffer | boolean) => void;
  reject: (e: Error) => void;
  /** The same job on the thread pool, for when the thread cannot answer. */
  fallback: () => Promise<Buffer | boolean>;
}

/**
 * Signatures on a thread of its own, in batches: the jobs asked for during one turn of the event
 * loop go over in one message and come back in one. Per signature that costs the engine's thread
 * a fraction of a thread-pool job (no per-job wake-up of a pool thread competing for the same
 * cores). Keys are sent once and cached by the thread. If the thread fails or is closed, jobs it
 * has not answered, and every later one, go to the thread pool: a valid signature is never
 * reported invalid because of it.
 */
export class SignatureWorker implements SignatureService {
  #worker: Worker | undefined;
  #failed = false;
  #keyIds = new WeakMap<KeyObject, number>();
  #nextKeyId = 1;
  #keysKept = 0;
  #clear = false;
  #newKeys: Array<[number, KeyObject]> = [];
  #ops: SignatureOp[] = [];
  #waiters: Waiter[] = [];
  #scheduled = false;
  #nextBatch = 1;
  readonly #inFlight = new Map<number, Waiter[]>();

  sign(alg: SignatureAlg, key: KeyObject, data: string): Promise<Buffer> {
    if (this.#failed) return threadPoolSignatures.sign(alg, key, data);
    return this.#submit({ kind: 0, alg: alg === "EdDSA" ? 0 : 1, key: this.#keyId(key), data }, () => threadPoolSignatures.sign(alg, key, data)) as Promise<Buffer>;
  }

  verify(alg: SignatureAlg, key: KeyObject, data: string, signature: Uint8Array): Promise<boolean> {
    if (this.#failed) return threadPoolSignatures.verify(alg, key, data, signature);
    // A copy: a view into a shared pool slab would carry the whole slab to the thread.
    const sig = Uint8Array.prototype.slice.call(signature);
    return this.#submit({ kind: 1, alg: alg === "EdDSA" ? 0 : 1, key: this.#keyId(key), data, sig }, () => threadPoolSignatures.verify(alg, key, data, sig)) as Promise<boolean>;
  }

  /** Stops the thread; jobs it has not answered, and later ones, go to the thread pool. */
  async close(): Promise<void> {
    this.#failed = true;
    const w = this.#worker;
    this.#worker = undefined;
    this.#fallBack();
    if (w) await w.terminate();
  }

  #keyId(key: KeyObject): number {
    let id = this.#keyIds.get(key);
    if (id === undefined) {
      if (this.#keysKept >= MAX_KEYS) {
        this.#flush(); // the jobs queued so far go out with the keys they name, before the thread forgets them
        this.#keyIds = new WeakMap();
        this.#keysKept = 0;
        this.#clear = true;
      }
      id = this.#nextKeyId++;
      this.#keyIds.set(key, id);
      this.#keysKept++;
      this.#newKeys.push([id, key]);
    }
    return id;
  }

  #submit(op: SignatureOp, fallback: () => Promise<Buffer | boolean>): Promise<Buffer | boolean> {
    return new Promise((resolve, reject) => {
      this.#ops.push(op);
      this.#waiters.push({ resolve, reject, fallback });
      if (this.#ops.length >= MAX_BATCH) this.#flush();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#ops.length === 0) return;
    const batch: SignatureBatch = { id: this.#nextBatch++, clear: this.#clear, keys: this.#newKeys, ops: this.#ops };
    const waiters = this.#waiters;
    this.#clear = false;
    this.#newKeys = [];
    this.#ops = [];
    this.#waiters = [];
    try {
      const w = this.#thread();
      this.#inFlight.set(batch.id, waiters);
      if (this.#inFlight.size === 1) w.ref();
      w.postMessage(batch);
    } catch {
      // Not sent (a job that cannot be cloned, or no thread): the keys it announced never arrived,
      // so they are forgotten here too, and its jobs go to the thread pool one by one.
      this.#inFlight.delete(batch.id);
      for (const [, key] of batch.keys) {
        this.#keyIds.delete(key);
        this.#keysKept--;
      }
      if (batch.clear) this.#clear = true;
      for (const x of waiters) x.fallback().then(x.resolve, x.reject);
    }
  }

  #thread(): Worker {
    if (this.#worker) return this.#worker;
    const w = new Worker(siblingModuleUrl(import.meta.url, "signature-thread"));
    w.unref();
    w.on("message", (m: { id: number; out: Array<Uint8Array | boolean | null> }) => {
      const waiters = this.#inFlight.get(m.id);
      if (!waiters) return;
      this.#inFlight.delete(m.id);
      if (this.#inFlight.size === 0) w.unref();
      waiters.forEach((x, i) => {
        const r = m.out[i];
        if (r === null || r === undefined) x.reject(new Error("signing failed"));
        else x.resolve(typeof r === "boolean" ? r : Buffer.from(r.buffer, r.byteOffset, r.byteLength));
      });
    });
    const die = () => {
      if (this.#worker !== w) return;
      this.#worker = undefined;
      this.#failed = true;
      this.#fallBack();
    };
    w.on("error", die);
    w.on("exit", die);
    this.#worker = w;
    return w;
  }

  /** Every job not answered goes to the thread pool. */
  #fallBack(): void {
    const waiters = [...[...this.#inFlight.values()].flat(), ...this.#waiters];
    this.#inFlight.clear();
    this.#ops = [];
    this.#waiters = [];
    for (const x of waiters) x.fallback().then(x.resolve, x.reject);
  }
}
