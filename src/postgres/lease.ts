// The leader's lease: an advisory lock held on a dedicated session plus the epoch row (sql.ts).
// The lock makes a dead leader visible at once (its session ends, the lock frees); the row's expiry
// covers a leader that is alive but silent (paused, partitioned) and still holds the lock; the epoch
// fences every write. The same session LISTENs for new log rows, to wake a standby.
import type { PostgresConfig } from "./options.ts";
import type { Pg, PgClient } from "./driver.ts";
import { LEASE_LOCK_CLASS } from "./sql.ts";
import type { Statements } from "./sql.ts";

/** FNV-1a of the schema name as a signed 32-bit int (the advisory lock's second key). */
function schemaLockKey(schema: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < schema.length; i++) h = Math.imul(h ^ schema.charCodeAt(i), 0x01000193);
  return h | 0;
}

export interface LeaseView {
  epoch: number;
  holder: string;
}

export class Lease {
  readonly #pg: Pg;
  readonly #cfg: PostgresConfig;
  readonly #sql: Statements;
  readonly #onNotify: () => void;
  readonly #key: [number, number];
  #client: PgClient | undefined;
  #connecting: Promise<PgClient> | undefined;
  /** Whether this session holds the advisory lock. */
  #locked = false;
  /** The epoch this node leads, if it does. */
  #epoch: number | undefined;
  /** The lease as last read (for NOT_LEADER's details). */
  view: LeaseView = { epoch: 0, holder: "" };

  constructor(pg: Pg, cfg: PostgresConfig, sql: Statements, onNotify: () => void) {
    this.#pg = pg;
    this.#cfg = cfg;
    this.#sql = sql;
    this.#onNotify = onNotify;
    this.#key = [LEASE_LOCK_CLASS, schemaLockKey(cfg.schema)];
  }

  get epoch(): number | undefined {
    return this.#epoch;
  }

  get connected(): boolean {
    return this.#client !== undefined;
  }

  /** The session, connected (and listening) on first use and again after it was lost. */
  async #session(): Promise<PgClient> {
    if (this.#client) return this.#client;
    this.#connecting ??= (async () => {
      const c = new this.#pg.Client({ connectionString: this.#cfg.url, connectionTimeoutMillis: 5_000, query_timeout: Math.max(5_000, this.#cfg.leaseMs) });
      c.on("error", () => this.#drop(c)); // the session is gone: so is the lock; reconnect next time
      c.on("end", () => this.#drop(c));
      c.on("notification", () => this.#onNotify());
      try {
        await c.connect();
        await c.query(`LISTEN "${this.#sql.channel}"`);
      } catch (e) {
        await c.end().catch(() => {});
        throw e;
      }
      this.#client = c;
      this.#locked = false;
      return c;
    })().finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  #drop(c: PgClient): void {
    if (this.#client !== c) return;
    this.#client = undefined;
    this.#locked = false;
    c.end().catch(() => {});
  }

  /**
   * One attempt to become the leader. Takes over when this session gets the advisory lock from a
   * holder that had it (that session is gone), or when the lease expired. Returns the new epoch.
   */
  async tryAcquire(): Promise<number | undefined> {
    const c = await this.#session();
    if (!this.#locked) this.#locked = (await c.query<{ got: boolean }>(this.#sql.tryLock, this.#key)).rows[0]!.got;
    const row = (await c.query<{ epoch: string; holder: string; locked: boolean; expired: boolean }>(this.#sql.readLease)).rows[0]!;
    this.view = { epoch: Number(row.epoch), holder: row.holder };
    const free = row.expired || (this.#locked && (row.locked || row.holder === ""));
    if (!free) {
      // A leader that took over by expiry runs without the lock until its old holder is gone: let it have it.
      if (this.#locked) await this.#unlock(c);
      return undefined;
    }
    const won = await c.query<{ epoch: string }>(this.#sql.takeover, [row.epoch, this.#cfg.nodeName, this.#locked, this.#cfg.leaseMs]);
    if (won.rowCount !== 1) {
      if (this.#locked) await this.#unlock(c);
      return undefined;
    }
    this.#epoch = Number(won.rows[0]!.epoch);
    this.view = { epoch: this.#epoch, holder: this.#cfg.nodeName };
    return this.#epoch;
  }

  /** Reads the lease without trying to take it (a standby-only node); always undefined. */
  async look(): Promise<undefined> {
    const c = await this.#session();
    const row = (await c.query<{ epoch: string; holder: string }>(this.#sql.readLease)).rows[0]!;
    this.view = { epoch: Number(row.epoch), holder: row.holder };
    return undefined;
  }

  /**
   * The leader's renewal: false once the lease belongs to a newer epoch. Also takes the advisory lock
   * if this node leads without it, ending the session of a paused old holder that still has it.
   * Throws if the session fails (the caller decides; the fence keeps writes safe meanwhile).
   */
  async renew(): Promise<boolean> {
    const epoch = this.#epoch;
    if (epoch === undefined) return false;
    const c = await this.#session();
    if (!this.#locked) {
      this.#locked = (await c.query<{ got: boolean }>(this.#sql.tryLock, this.#key)).rows[0]!.got;
      if (!this.#locked) {
        // Best effort: needs the same role or pg_signal_backend. Without it the old session keeps
        // the lock until it ends; the lease and the fence still hold.
        const holders = await c.query<{ pid: number }>(this.#sql.lockHolders, this.#key);
        for (const { pid } of holders.rows) await c.query("SELECT pg_terminate_backend($1)", [pid]).catch(() => {});
      }
    }
    const r = await c.query(this.#sql.renew, [epoch, this.#cfg.leaseMs, this.#locked]);
    if (r.rowCount !== 1) {
      this.#epoch = undefined;
      return false;
    }
    return true;
  }

  /** Stops leading: ends the lease now (if it is still ours) and frees the lock. */
  async resign(): Promise<void> {
    const epoch = this.#epoch;
    this.#epoch = undefined;
    const c = this.#client;
    if (!c) return;
    if (epoch !== undefined) await c.query(this.#sql.resign, [epoch]).catch(() => {});
    if (this.#locked) await this.#unlock(c).catch(() => {});
  }

  /** Forgets leadership without telling the database (it was lost, or the session is gone). */
  lost(): void {
    this.#epoch = undefined;
  }

  async #unlock(c: PgClient): Promise<void> {
    await c.query(this.#sql.unlock, this.#key);
    this.#locked = false;
  }

  async close(): Promise<void> {
    await this.resign();
    const c = this.#client;
    this.#client = undefined;
    if (c) await c.end().catch(() => {});
  }
}
