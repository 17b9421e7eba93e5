export type StoreOp = { type: "put"; key: string; value: string } | { type: "del"; key: string };

/**
 * Where the engine's state is made durable. `write` is atomic (all ops or none) and
 * durable when it resolves. Writes are applied in call order (the engine hands over the next
 * batch before the previous one is done), and once one fails, for whatever reason and even
 * before it reached the disk, every later one fails without effect until the store is
 * reopened: what is on disk is always a prefix of the batches. A failed write's batch may or may not
 * be on disk after reopen, but never part of it. LogStore (an append-only log with snapshots) is the
 * embedded default, LevelStore the LevelDB alternative; a server-grade backend (PostgreSQL) would
 * implement the same four methods.
 */
export interface Store {
  open(): Promise<void>;
  /** Every stored record, in key order. */
  entries(): AsyncIterable<[string, string]>;
  write(ops: readonly StoreOp[]): Promise<void>;
  /**
   * Optional: the same write already packed (packed-ops.ts), as the engine builds it without
   * making strings first. Same contract as `write`, ordered with it.
   */
  writePacked?(packed: ArrayBuffer): Promise<void>;
  close(): Promise<void>;
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
