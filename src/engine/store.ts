import { Worker } from "node:worker_threads";
import { AgentPayError } from "../core/index.ts";
import { packOps } from "./packed-ops.ts";

export type StoreOp = { type: "put"; key: string; value: string } | { type: "del"; key: string };

/**
 * Where the engine's state is made durable. `write` is atomic (all ops or none) and
 * durable when it resolves. Writes are applied in call order (the engine hands over the next
 * batch before the previous one is done), and once one fails, for whatever reason and even
 * before it reached the disk, every later one fails without effect until the store is
 * reopened: what is on disk is always a prefix of the batches. LevelDB is the embedded default; a server-grade backend
 * (PostgreSQL) would implement the same four methods.
 */
export interface Store {
  open(): Promise<void>;
  /** Every stored record, in key order. */
  entries(): AsyncIterable<[string, string]>;
  write(ops: readonly StoreOp[]): Promise<void>;
  close(): Promise<void>;
}

interface WorkerReply {
  id: number;
  ok: boolean;
  error?: string;
  flat?: string[];
}

/** Entries per load request: bounds what sits in the message queue while loading. */
const LOAD_CHUNK = 4_096;

/**
 * LevelDB on a worker thread (see level-worker.ts). The engine's thread encodes the records and
 * packs them into one buffer (packed-ops.ts); building the native batch and the fsync happen on
 * the worker, so group commit overlaps with applying the next batch on both cores.
 */
export class LevelStore implements Store {
  readonly #dir: string;
  readonly #sync: boolean;
  #worker: Worker | undefined;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }>();
  #dead: Error | undefined;
  /** A write failed (here or in the worker): every later one is refused until reopened. */
  #writeFailed: Error | undefined;

  constructor(dir: string, opts: { sync?: boolean } = {}) {
    this.#dir = dir;
    this.#sync = opts.sync ?? true;
  }

  async open(): Promise<void> {
    if (this.#worker) throw new AgentPayError("STORE_FAILURE", "the LevelDB store is already open");
    const worker = new Worker(new URL("./level-worker.ts", import.meta.url), { workerData: { dir: this.#dir, sync: this.#sync } });
    this.#worker = worker;
    this.#dead = undefined;
    this.#writeFailed = undefined;
    worker.unref();
    worker.on("message", (r: WorkerReply) => {
      const p = this.#pending.get(r.id);
      if (!p) return;
      this.#pending.delete(r.id);
      if (this.#pending.size === 0) worker.unref();
      if (r.ok) p.resolve(r);
      else p.reject(new Error(r.error ?? "LevelDB worker failed"));
    });
    const die = (e: Error) => {
      if (this.#worker !== worker) return; // a worker closed earlier, exiting late
      this.#dead ??= e;
      for (const p of this.#pending.values()) p.reject(e);
      this.#pending.clear();
    };
    worker.on("error", die);
    worker.on("exit", (code) => die(new Error(`LevelDB worker exited (code ${code})`)));
    try {
      await this.#call({ op: "open" });
    } catch (e) {
      await worker.terminate();
      this.#worker = undefined;
      throw new AgentPayError("STORE_FAILURE", "could not open the LevelDB store", {}, { cause: e });
    }
  }

  async *entries(): AsyncIterable<[string, string]> {
    for (let first = true; ; first = false) {
      const { flat = [] } = await this.#call({ op: "next", limit: LOAD_CHUNK, first });
      if (flat.length === 0) return;
      for (let i = 0; i < flat.length; i += 2) yield [flat[i]!, flat[i + 1]!];
    }
  }

  async write(ops: readonly StoreOp[]): Promise<void> {
    // Checked and set before the first await: the engine may hand over the next batch at once.
    if (this.#writeFailed) throw new Error(`an earlier write failed; reopen the store (${this.#writeFailed.message})`);
    try {
      // One UTF-8 buffer, moved (not copied) to the worker: no strings for it to decode and later
      // collect, and LevelDB copies the bytes without transcoding them.
      const bytes = packOps(ops);
      await this.#call({ op: "write", bytes }, [bytes]);
    } catch (e) {
      this.#writeFailed ??= e instanceof Error ? e : new Error(String(e));
      throw e;
    }
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    try {
      if (!this.#dead) await this.#call({ op: "close" });
    } finally {
      await worker.terminate();
      this.#worker = undefined;
    }
  }

  #call(msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    const worker = this.#worker;
    if (!worker) return Promise.reject(new Error("the LevelDB store is not open"));
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    return new Promise<WorkerReply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      if (this.#pending.size === 1) worker.ref();
      worker.postMessage({ id, ...msg }, transfer);
    });
  }
}

/**
 * The same contract without a disk. It keeps the encoded records, so a test can
 * close and reopen an engine on the same MemoryStore and see exactly what was acknowledged.
 */
export class MemoryStore implements Store {
  readonly #data = new Map<string, string>();
  /** Test hook: when set, the next write fails (simulates a disk error). */
  failNextWrite = false;
  #failed = false;

  async open(): Promise<void> {
    this.#failed = false;
  }

  async *entries(): AsyncIterable<[string, string]> {
    const keys = [...this.#data.keys()].sort();
    for (const k of keys) yield [k, this.#data.get(k)!];
  }

  async write(ops: readonly StoreOp[]): Promise<void> {
    if (this.#failed) throw new Error("an earlier write failed; reopen the store");
    if (this.failNextWrite) {
      this.failNextWrite = false;
      this.#failed = true;
      throw new Error("simulated write failure");
    }
    for (const op of ops) {
      if (op.type === "put") this.#data.set(op.key, op.value);
      else this.#data.delete(op.key);
    }
  }

  async close(): Promise<void> {}

  get size(): number {
    return this.#data.size;
  }
}
