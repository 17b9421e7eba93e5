import { Worker } from "node:worker_threads";
import { AgentPayError, isErrorCode } from "../core/index.ts";
import { lockDirectory } from "./dir-lock.ts";
import type { DirLock } from "./dir-lock.ts";
import { packOps } from "./packed-ops.ts";
import type { Store, StoreOp } from "./store.ts";

interface WorkerReply {
  id: number;
  ok: boolean;
  error?: string;
  /** An AgentPayError's code and details, when the worker threw one. */
  code?: string;
  details?: Record<string, unknown>;
  flat?: string[];
}

/** A worker's failure, with the reason it gave (and its code, when it was an AgentPayError). */
export class WorkerError extends Error {
  readonly code: string | undefined;
  readonly details: Record<string, unknown>;
  constructor(message: string, code?: string, details: Record<string, unknown> = {}) {
    super(message);
    this.code = code;
    this.details = details;
  }
}

/** Entries per load request: bounds what sits in the message queue while loading. */
const LOAD_CHUNK = 4_096;

/**
 * A store whose disk work runs on a worker thread (served by worker-serve.ts). The engine's
 * thread encodes the records and packs them into one buffer (packed-ops.ts); the worker writes and
 * syncs it, so group commit overlaps with applying the next batch on both cores.
 */
export class WorkerStore implements Store {
  readonly #script: URL;
  readonly #workerData: Record<string, unknown>;
  readonly #name: string;
  /** The directory this store owns, locked for this process before the worker touches it. */
  readonly #dir: string | undefined;
  #lock: DirLock | undefined;
  #worker: Worker | undefined;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }>();
  #dead: Error | undefined;
  /** A write failed (here or in the worker): every later one is refused until reopened. */
  #writeFailed: Error | undefined;

  /**
   * `script`: the worker's module; `name`: the store's name in errors; `dir`: the directory it
   * owns, which open locks (dir-lock.ts) before anything reads or writes in it.
   */
  protected constructor(script: URL, workerData: Record<string, unknown>, name: string, dir?: string) {
    this.#script = script;
    this.#workerData = workerData;
    this.#name = name;
    this.#dir = dir;
  }

  /** Called with the directory locked, before the worker starts: refuse a directory of another kind here. */
  protected checkDirectory(_realDir: string): void {}

  async open(): Promise<void> {
    if (this.#worker) throw new AgentPayError("STORE_FAILURE", `the ${this.#name} store is already open`);
    let workerData = this.#workerData;
    if (this.#dir !== undefined) {
      this.#lock = lockDirectory(this.#dir);
      try {
        this.checkDirectory(this.#lock.dir);
      } catch (e) {
        this.#unlock();
        throw e;
      }
      workerData = { ...workerData, dir: this.#lock.dir };
    }
    const worker = new Worker(this.#script, { workerData });
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
      else p.reject(new WorkerError(r.error ?? `${this.#name} worker failed`, r.code, r.details));
    });
    const die = (e: Error) => {
      if (this.#worker !== worker) return; // a worker closed earlier, exiting late
      this.#dead ??= e;
      for (const p of this.#pending.values()) p.reject(e);
      this.#pending.clear();
    };
    worker.on("error", die);
    worker.on("exit", (code) => die(new Error(`${this.#name} worker exited (code ${code})`)));
    try {
      await this.#call({ op: "open" });
    } catch (e) {
      await worker.terminate();
      this.#worker = undefined;
      this.#unlock();
      const w = e instanceof WorkerError ? e : undefined;
      const message = e instanceof Error ? e.message : String(e);
      // The worker names a catalog code (STORE_FILE_MISSING...); anything else is a store failure.
      throw new AgentPayError(isErrorCode(w?.code) ? w.code : "STORE_FAILURE", `could not open the ${this.#name} store: ${message}`, w?.details ?? { reason: message }, { cause: e });
    }
  }

  #unlock(): void {
    this.#lock?.release();
    this.#lock = undefined;
  }

  async *entries(): AsyncIterable<[string, string]> {
    for (let first = true; ; first = false) {
      const { flat = [] } = await this.#call({ op: "next", limit: LOAD_CHUNK, first });
      if (flat.length === 0) return;
      for (let i = 0; i < flat.length; i += 2) yield [flat[i]!, flat[i + 1]!];
    }
  }

  async write(ops: readonly StoreOp[]): Promise<void> {
    let bytes: ArrayBuffer;
    try {
      bytes = packOps(ops);
    } catch (e) {
      this.#writeFailed ??= e instanceof Error ? e : new Error(String(e));
      throw e;
    }
    await this.writePacked(bytes);
  }

  /** The buffer is moved (not copied) to the worker, which writes the bytes as they are. */
  async writePacked(bytes: ArrayBuffer): Promise<void> {
    // Checked and set before the first await: the engine may hand over the next batch at once.
    if (this.#writeFailed) throw new Error(`an earlier write failed; reopen the store (${this.#writeFailed.message})`);
    try {
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
      // Also when the worker died: its thread is gone, so nothing of this process touches the directory.
      this.#unlock();
    }
  }

  #call(msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    const worker = this.#worker;
    if (!worker) return Promise.reject(new Error(`the ${this.#name} store is not open`));
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    return new Promise<WorkerReply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      if (this.#pending.size === 1) worker.ref();
      try {
        worker.postMessage({ id, ...msg }, transfer);
      } catch (e) {
        // Not sendable: nothing reached the worker, so nothing to wait for.
        this.#pending.delete(id);
        if (this.#pending.size === 0) worker.unref();
        reject(e);
      }
    });
  }
}

