import { Level } from "level";
import { AgentPayError } from "../core/index.ts";

export type StoreOp = { type: "put"; key: string; value: string } | { type: "del"; key: string };

/**
 * Where the engine's state is made durable. `write` is atomic (all ops or none) and
 * durable when it resolves. LevelDB is the embedded default; a server-grade backend
 * (PostgreSQL) would implement the same four methods.
 */
export interface Store {
  open(): Promise<void>;
  /** Every stored record, in key order. */
  entries(): AsyncIterable<[string, string]>;
  write(ops: readonly StoreOp[]): Promise<void>;
  close(): Promise<void>;
}

export class LevelStore implements Store {
  readonly #db: Level<string, string>;
  readonly #sync: boolean;

  constructor(dir: string, opts: { sync?: boolean } = {}) {
    this.#db = new Level<string, string>(dir, { keyEncoding: "utf8", valueEncoding: "utf8" });
    this.#sync = opts.sync ?? true;
  }

  async open(): Promise<void> {
    try {
      await this.#db.open();
    } catch (e) {
      throw new AgentPayError("STORE_FAILURE", "could not open the LevelDB store", {}, { cause: e });
    }
  }

  entries(): AsyncIterable<[string, string]> {
    return this.#db.iterator();
  }

  async write(ops: readonly StoreOp[]): Promise<void> {
    await this.#db.batch(ops as StoreOp[], { sync: this.#sync });
  }

  async close(): Promise<void> {
    await this.#db.close();
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

  async open(): Promise<void> {}

  async *entries(): AsyncIterable<[string, string]> {
    const keys = [...this.#data.keys()].sort();
    for (const k of keys) yield [k, this.#data.get(k)!];
  }

  async write(ops: readonly StoreOp[]): Promise<void> {
    if (this.failNextWrite) {
      this.failNextWrite = false;
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
