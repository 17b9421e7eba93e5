// One node of a ledger on PostgreSQL: a leader (its engine writes the log under the lease) or a
// standby (its engine replays the log and refuses commands). One loop drives it, so role changes
// never race each other:
//
//   standby: replay new log rows (woken by NOTIFY, else every pollMs); try to take the lease;
//            on success replay to the end (nobody else can append now) and take commands.
//   leader:  renew the lease; fold the log into the snapshot and read models (the projector).
//   a lost lease, a fenced or failed write: refuse commands, stop the leader's background work,
//            and, if the engine's memory may hold batches that never committed, rebuild the node's
//            instance from the store (the facade swaps the parts); then go on as a standby.
import { AgentPayError } from "../core/index.ts";
import type { Engine } from "../engine/index.ts";
import { loadPg } from "./driver.ts";
import type { PgPool } from "./driver.ts";
import { Lease } from "./lease.ts";
import { migrate } from "./migrate.ts";
import type { PostgresConfig } from "./options.ts";
import { fold, truncateLog } from "./projector.ts";
import { statements } from "./sql.ts";
import type { Statements } from "./sql.ts";
import { PostgresStore, TAIL_ROWS, isConnectionError, recordsOf } from "./store.ts";
import type { StoreContext } from "./store.ts";

export type Role = "leader" | "standby";

/** What the node asks of the instance it runs (the facade's AgentPay). */
export interface NodeHooks<P> {
  /** A new instance on `store`: its engine refusing commands, loaded from the store. */
  build(store: PostgresStore): Promise<P>;
  engine(p: P): Engine;
  /** The instance leads now: start what only a leader runs (the engine already takes commands). */
  lead(p: P): Promise<void>;
  /** The instance no longer leads: stop that again. */
  follow(p: P): Promise<void>;
  /** Swaps the parts of `current` (the instance users hold) and `fresh`: `fresh` then holds the replaced ones. */
  swap(current: P, fresh: P): void;
  /** Closes an instance whose parts were replaced. */
  discard(old: P): Promise<void>;
}

export interface NodeStatus {
  role: Role;
  /** The lease's epoch as last seen, and who holds it. */
  epoch: number;
  leader: string;
  /** The last log position in this node's memory. */
  position: number;
  /** The snapshot's (and read models') position as this node's projector last left it, if it ran. */
  projected?: number;
  /** The last error the node's loop met (it retries), if the last step failed. */
  lastError?: string;
}

const MAX_BACKOFF_MS = 2_000;
/**
 * How long the leader's projector folds per tick (one tick per pollMs): while the engine is busy it
 * takes a small share of the time and falls behind, catching up when the load drops (read models
 * are eventually consistent; the log keeps everything meanwhile); when idle, it takes more.
 */
const FOLD_BUDGET_BUSY_MS = 60;
const FOLD_BUDGET_IDLE_MS = 500;
const TRUNCATE_EVERY_MS = 1_000;

class FellBehind extends Error {}

export class PostgresNode<P> {
  readonly #cfg: PostgresConfig;
  readonly #hooks: NodeHooks<P>;
  readonly #pool: PgPool;
  readonly #sql: Statements;
  readonly #lease: Lease;
  readonly #ctx: StoreContext;
  readonly #listeners = new Set<(role: Role) => void>();
  #current!: P;
  #store!: PostgresStore;
  #role: Role = "standby";
  #closed = false;
  #rebuild = false;
  #writeFailure: AgentPayError | undefined;
  #wakeUp: (() => void) | undefined;
  #woken = false;
  #loop: Promise<void> | undefined;
  #nextRenewAt = 0;
  #nextTruncateAt = 0;
  #batchesAtLastFold = 0;
  #projected: number | undefined;
  #failures = 0;
  #lastError: string | undefined;

  private constructor(cfg: PostgresConfig, hooks: NodeHooks<P>, pool: PgPool, lease: Lease, sql: Statements) {
    this.#cfg = cfg;
    this.#hooks = hooks;
    this.#pool = pool;
    this.#lease = lease;
    this.#sql = sql;
    this.#ctx = {
      pool, sql, schema: cfg.schema,
      onWriteFailure: (e) => {
        this.#writeFailure ??= e;
        this.#wake();
      },
      notLeader: () => this.notLeader(),
    };
  }

  /**
   * Connects, brings the schema up to date, loads the first instance and, unless a leader holds the
   * lease (or this node is standby-only), takes it. Returns with the node running its loop.
   */
  static async start<P>(cfg: PostgresConfig, hooks: NodeHooks<P>): Promise<{ node: PostgresNode<P>; instance: P }> {
    const pg = await loadPg();
    const pool = new pg.Pool({ connectionString: cfg.url, max: cfg.poolSize, connectionTimeoutMillis: 5_000, idleTimeoutMillis: 30_000 });
    pool.on("error", () => {}); // an idle client lost: the pool replaces it
    // A checked-out client whose server goes away emits "error" between queries (the writer is held
    // for as long as the node leads); its next query fails, and that is where it is handled.
    pool.on("connect", (client) => client.on("error", () => {}));
    const sql = statements(cfg.schema);
    let node: PostgresNode<P> | undefined;
    try {
      const client = await pool.connect().catch((e: unknown) => {
        throw new AgentPayError("STORE_UNAVAILABLE", `could not connect to PostgreSQL: ${errorText(e)}`, {}, { cause: e });
      });
      try {
        await migrate(client, cfg.schema);
      } finally {
        client.release();
      }
      const lease = new Lease(pg, cfg, sql, () => {
        if (node) node.#wake();
      });
      node = new PostgresNode(cfg, hooks, pool, lease, sql);
      node.#store = new PostgresStore(node.#ctx);
      node.#current = await hooks.build(node.#store);
      if (!cfg.standbyOnly) {
        // Usually takes the lease at once; if not, the loop goes on trying.
        await node.#step().catch((e: unknown) => {
          node!.#failures++;
          node!.#lastError = errorText(e);
        });
      }
      node.#loop = node.#run();
      return { node, instance: node.#current };
    } catch (e) {
      if (node) await node.#lease.close().catch(() => {});
      await pool.end().catch(() => {});
      throw e instanceof AgentPayError ? e : new AgentPayError("STORE_FAILURE", `could not open the PostgreSQL store: ${errorText(e)}`, {}, { cause: e });
    }
  }

  get role(): Role {
    return this.#role;
  }

  get status(): NodeStatus {
    return {
      role: this.#role, epoch: this.#lease.view.epoch, leader: this.#lease.view.holder, position: this.#store.position,
      ...(this.#projected !== undefined ? { projected: this.#projected } : {}),
      ...(this.#lastError !== undefined ? { lastError: this.#lastError } : {}),
    };
  }

  /** Calls `fn` on every role change; returns the function that stops it. */
  onRoleChange(fn: (role: Role) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** The error a command gets on a standby. */
  notLeader(): AgentPayError {
    const leader = this.#lease.view.holder;
    return new AgentPayError("NOT_LEADER", "this node is a standby: send writes to the leader", leader && leader !== this.#cfg.nodeName ? { leader } : {});
  }

  /** A pool for read-only SQL (e.g. tests and tools reading the read models). */
  get pool(): PgPool {
    return this.#pool;
  }

  /** Stops the loop; `closeInstance` then closes the instance (its engine drains while still leading); then the lease and pool go. */
  async close(closeInstance: () => Promise<void>): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake();
    await this.#loop;
    try {
      await closeInstance();
    } finally {
      await this.#lease.close().catch(() => {});
      await this.#pool.end().catch(() => {});
    }
  }

  #wake(): void {
    this.#woken = true;
    this.#wakeUp?.();
  }

  #sleep(ms: number): Promise<void> {
    if (this.#woken || this.#closed) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wakeUp = () => {
        this.#wakeUp = undefined;
        done();
      };
    }).finally(() => {
      this.#woken = false;
    });
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      const backoff = this.#failures === 0 ? 0 : Math.min(MAX_BACKOFF_MS, this.#cfg.pollMs * 2 ** Math.min(this.#failures, 8));
      await this.#sleep(backoff || this.#cfg.pollMs);
      if (this.#closed) break;
      try {
        await this.#step();
        this.#failures = 0;
        this.#lastError = undefined;
      } catch (e) {
        this.#failures++;
        this.#lastError = errorText(e);
      }
    }
    // Closing: a leader keeps its role until the instance is closed (its engine drains first).
  }

  async #step(): Promise<void> {
    if (this.#rebuild) await this.#rebuildInstance();
    if (this.#role === "leader") {
      const engine = this.#hooks.engine(this.#current);
      if (this.#writeFailure || engine.failure) return this.#demote();
      if (Date.now() >= this.#nextRenewAt) {
        // A failed session throws here and the loop retries: writes are still fenced, so this node keeps
        // leading while it reconnects; if a standby takes over meanwhile, its next write is refused.
        if (!(await this.#lease.renew())) return this.#demote();
        this.#nextRenewAt = Date.now() + Math.floor(this.#cfg.leaseMs / 3);
      }
      if (this.#cfg.projector) await this.#project();
      return;
    }
    await this.#catchUp();
    if (this.#rebuild) return;
    const holder = this.#lease.view.holder;
    const epoch = this.#cfg.standbyOnly ? await this.#lease.look() : await this.#lease.tryAcquire();
    if (epoch !== undefined) return this.#promote();
    // Refusals name the leader as last seen, for callers that redirect.
    if (this.#lease.view.holder !== holder) this.#hooks.engine(this.#current).refuseWrites(this.notLeader());
  }

  /** Applies the log rows after this node's position to its engine. */
  async #catchUp(): Promise<void> {
    const engine = this.#hooks.engine(this.#current);
    for (;;) {
      const { rows } = await this.#pool.query<{ pos: string; ops: Buffer }>(this.#sql.tail, [this.#store.position, TAIL_ROWS]);
      for (const row of rows) {
        const pos = Number(row.pos);
        if (pos !== this.#store.position + 1) {
          // The rows after this node's position were folded and removed: reload from the snapshot.
          this.#rebuild = true;
          throw new FellBehind(`the log after position ${this.#store.position} was removed; reloading from the snapshot`);
        }
        try {
          engine.applyCommitted(recordsOf(row.ops));
        } catch (e) {
          this.#rebuild = true; // memory is part-way through a batch
          throw e;
        }
        this.#store.replayed(pos);
      }
      if (rows.length < TAIL_ROWS) return;
    }
  }

  async #promote(): Promise<void> {
    const p = this.#current;
    const engine = this.#hooks.engine(p);
    try {
      await this.#catchUp(); // the epoch is ours: nothing can be appended behind this read
      await this.#store.lead(this.#lease.epoch!);
      this.#writeFailure = undefined;
      engine.acceptWrites();
      this.#nextRenewAt = Date.now() + Math.floor(this.#cfg.leaseMs / 3);
      this.#setRole("leader");
      await this.#hooks.lead(p);
    } catch (e) {
      await this.#demote();
      throw e;
    }
  }

  async #demote(): Promise<void> {
    const p = this.#current;
    const engine = this.#hooks.engine(p);
    engine.refuseWrites(this.notLeader());
    this.#setRole("standby");
    await this.#hooks.follow(p).catch(() => {});
    // Batches already applied settle as their writes do (committed, fenced or failed).
    await engine.idle();
    this.#store.follow();
    await this.#lease.resign().catch(() => this.#lease.lost());
    await this.#lease.look().catch(() => {}); // so refusals name the new leader
    engine.refuseWrites(this.notLeader());
    // Memory may hold batches that never committed (or whose commit is in doubt): reload.
    if (this.#writeFailure || engine.failure) this.#rebuild = true;
    this.#writeFailure = undefined;
    this.#nextRenewAt = 0;
  }

  async #rebuildInstance(): Promise<void> {
    const store = new PostgresStore(this.#ctx);
    const fresh = await this.#hooks.build(store);
    this.#hooks.swap(this.#current, fresh);
    this.#store = store;
    this.#rebuild = false;
    await this.#hooks.discard(fresh).catch(() => {});
  }

  async #project(): Promise<void> {
    const batches = this.#hooks.engine(this.#current).stats.batches;
    const busy = batches - this.#batchesAtLastFold > 1;
    this.#batchesAtLastFold = batches;
    const until = Date.now() + (busy ? FOLD_BUDGET_BUSY_MS : FOLD_BUDGET_IDLE_MS);
    while (Date.now() < until && !this.#closed) {
      const done = await fold(this.#pool, this.#sql);
      this.#projected = done.position;
      if (done.rows === 0) break;
    }
    if (Date.now() >= this.#nextTruncateAt) {
      await truncateLog(this.#pool, this.#sql, this.#cfg.logRetentionMs);
      this.#nextTruncateAt = Date.now() + TRUNCATE_EVERY_MS;
    }
  }

  #setRole(role: Role): void {
    if (this.#role === role) return;
    this.#role = role;
    for (const fn of [...this.#listeners]) {
      try {
        fn(role);
      } catch {
        // a listener's failure is its own
      }
    }
  }
}

function errorText(e: unknown): string {
  if (e instanceof AgentPayError) return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

export { isConnectionError };
