// The engine's Store on PostgreSQL: batches appended to the log table under the lease's epoch, the
// state loaded from the snapshot plus the log after it. Leadership, replay and the projector are
// the node's (node.ts); this object is one engine's view, made anew when the node rebuilds.
import { AgentPayError } from "../core/index.ts";
import { packOps, unpackOps } from "../engine/index.ts";
import type { Store, StoreOp } from "../engine/index.ts";
import type { PgPool, PgPoolClient } from "./driver.ts";
import type { Statements } from "./sql.ts";

/** What a store shares with its node. */
export interface StoreContext {
  pool: PgPool;
  sql: Statements;
  schema: string;
  /** Told of a write that failed (fenced, or PostgreSQL gone): the node steps down. */
  onWriteFailure(e: AgentPayError): void;
  /** The error a write gets while this node does not lead. */
  notLeader(): AgentPayError;
}

/** Rows read per round trip when replaying the log. */
export const TAIL_ROWS = 64;
/** Snapshot records per FETCH while loading. */
const LOAD_CHUNK = 4_096;

/** JS string order is UTF-16 code units; PostgreSQL's "C" collation is UTF-8 bytes, i.e. code points. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (U+D800-DFFF, i.e. code points past U+FFFF) sort after U+E000-FFFF in code point order.
    if (x >= 0xd800) x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
    if (y >= 0xd800) y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    return x - y;
  }
  return a.length - b.length;
}

/** A log row's records as [key, text | undefined (deleted)]. */
export function recordsOf(ops: Buffer): Array<[string, string | undefined]> {
  return unpackOps(ops).map((op) => {
    const key = Buffer.from(op.key.buffer, op.key.byteOffset, op.key.byteLength).toString("utf8");
    return [key, op.type === "put" ? Buffer.from(op.value.buffer, op.value.byteOffset, op.value.byteLength).toString("utf8") : undefined];
  });
}

/** Whether a driver error means the connection (or the server) went away, rather than a refused statement. */
export function isConnectionError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return true; // socket errors, timeouts, "Connection terminated"
  // 08: connection exception; 57P01-03: admin shutdown, crash shutdown, cannot connect now; 53300: too many connections
  return code.startsWith("08") || code === "57P01" || code === "57P02" || code === "57P03" || code === "53300" || /^E[A-Z]+$/.test(code);
}

export class PostgresStore implements Store {
  readonly #ctx: StoreContext;
  #open = false;
  /** The last log position handed to the log (written or being written) or replayed into the engine. */
  #position = 0;
  /** The last position known to be in the log (loaded, replayed or acknowledged). */
  #durable = 0;
  #epoch: number | undefined;
  #writer: PgPoolClient | undefined;
  #chain: Promise<void> = Promise.resolve();
  #writeFailed: AgentPayError | undefined;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  get position(): number {
    return this.#durable;
  }

  /** The error a command gets while this node does not lead. */
  notLeader(): AgentPayError {
    return this.#ctx.notLeader();
  }

  get leading(): boolean {
    return this.#epoch !== undefined;
  }

  async open(): Promise<void> {
    this.#open = true;
  }

  /**
   * The snapshot's records merged with the log after it, in key order, read in one REPEATABLE READ
   * transaction so the projector folding meanwhile cannot make the two disagree.
   */
  async *entries(): AsyncIterable<[string, string]> {
    const { sql } = this.#ctx;
    const client = await this.#ctx.pool.connect();
    let done = false;
    try {
      await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      const snapPos = Number((await client.query<{ pos: string }>(sql.snapshotPos)).rows[0]!.pos);
      // The log after the snapshot, folded to the last write of each key (null: deleted).
      const tail = new Map<string, string | undefined>();
      let last = snapPos;
      for (;;) {
        const { rows } = await client.query<{ pos: string; ops: Buffer }>(sql.tail, [last, TAIL_ROWS]);
        for (const row of rows) {
          const pos = Number(row.pos);
          if (pos !== last + 1) throw new AgentPayError("STORE_FAILURE", `the log is missing position ${last + 1} (the snapshot is at ${snapPos})`, { position: last + 1 });
          for (const [k, v] of recordsOf(row.ops)) tail.set(k, v);
          last = pos;
        }
        if (rows.length < TAIL_ROWS) break;
      }
      const tailKeys = [...tail.keys()].sort(compareCodePoints);
      let t = 0;
      await client.query(sql.snapshotCursor);
      for (;;) {
        const { rows } = await client.query<{ key: string; value: string }>(`FETCH ${LOAD_CHUNK} FROM agentpay_load`);
        for (const { key, value } of rows) {
          for (; t < tailKeys.length && compareCodePoints(tailKeys[t]!, key) < 0; t++) {
            const v = tail.get(tailKeys[t]!);
            if (v !== undefined) yield [tailKeys[t]!, v];
          }
          if (t < tailKeys.length && tailKeys[t] === key) {
            const v = tail.get(key);
            t++;
            if (v !== undefined) yield [key, v];
          } else {
            yield [key, value];
          }
        }
        if (rows.length < LOAD_CHUNK) break;
      }
      for (; t < tailKeys.length; t++) {
        const v = tail.get(tailKeys[t]!);
        if (v !== undefined) yield [tailKeys[t]!, v];
      }
      await client.query("COMMIT");
      done = true;
      this.#position = this.#durable = last;
    } finally {
      if (!done) await client.query("ROLLBACK").catch(() => {});
      client.release();
    }
  }

  /** A standby replayed the row at `pos` into its engine. */
  replayed(pos: number): void {
    this.#position = this.#durable = pos;
  }

  /** Starts writing under `epoch`, on a session of its own; positions go on from the last replayed. */
  async lead(epoch: number): Promise<void> {
    this.#writer ??= await this.#ctx.pool.connect();
    this.#epoch = epoch;
    this.#writeFailed = undefined;
  }

  /** Stops writing (the engine refuses commands first); the session goes back to the pool. */
  follow(): void {
    this.#epoch = undefined;
    this.#releaseWriter();
  }

  async write(ops: readonly StoreOp[]): Promise<void> {
    await this.writePacked(packOps(ops));
  }

  /**
   * Appends one batch at the next position. Writes go one at a time in call order (the next is sent
   * once the previous committed), and after a failed one every later one is refused unsent: the log
   * is always a prefix of what the engine handed over, without a gap.
   */
  writePacked(bytes: ArrayBuffer): Promise<void> {
    if (!this.#open) return Promise.reject(new AgentPayError("STORE_FAILURE", "the PostgreSQL store is not open"));
    if (this.#writeFailed) return Promise.reject(this.#writeFailed);
    const epoch = this.#epoch;
    const writer = this.#writer;
    if (epoch === undefined || !writer) return Promise.reject(this.#ctx.notLeader());
    const pos = ++this.#position;
    const done = this.#chain.then(() => this.#append(writer, epoch, pos, Buffer.from(bytes)));
    this.#chain = done.catch(() => {});
    return done;
  }

  async #append(writer: PgPoolClient, epoch: number, pos: number, ops: Buffer): Promise<void> {
    if (this.#writeFailed) throw this.#writeFailed;
    let fenced = false;
    try {
      const r = await writer.query({ name: `agentpay_append_${this.#ctx.schema}`, text: this.#ctx.sql.append, values: [pos, epoch, ops, this.#ctx.sql.channel] });
      fenced = r.rowCount !== 1;
    } catch (e) {
      this.#fail(isConnectionError(e)
        ? new AgentPayError("STORE_UNAVAILABLE", "PostgreSQL could not be reached while committing: the change may or may not have been applied; retry it with the same idempotency key", { inDoubt: true }, { cause: e })
        : new AgentPayError("STORE_FAILURE", "PostgreSQL refused the log write", { position: pos }, { cause: e }));
    }
    if (fenced) {
      this.#fail(new AgentPayError("NOT_LEADER", "this node lost the lease to a newer leader: the change was not applied; retry it on the leader", { ...this.#ctx.notLeader().details }));
    }
    this.#durable = pos;
  }

  #fail(e: AgentPayError): never {
    this.#writeFailed ??= e;
    this.#ctx.onWriteFailure(e);
    throw e;
  }

  #releaseWriter(): void {
    const w = this.#writer;
    this.#writer = undefined;
    // A writer that failed may be broken or mid-statement: destroy it rather than pool it.
    if (w) w.release(this.#writeFailed !== undefined);
  }

  async close(): Promise<void> {
    await this.#chain;
    this.#open = false;
    this.#epoch = undefined;
    this.#releaseWriter();
  }
}
