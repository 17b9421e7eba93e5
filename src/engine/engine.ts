import { AgentPayError, decodeJson, deepFreeze, encodeJson, invariant, isAgentPayError, systemClock } from "../core/index.ts";
import type { Clock } from "../core/index.ts";
import { packRecords } from "./packed-ops.ts";
import { ShardedMap } from "./sharded-map.ts";
import type { Store, StoreOp } from "./store.ts";

/**
 * The transactional view a command runs against. Reads see the committed state
 * plus this command's own writes; nothing is visible to anyone else until the
 * command returns without throwing. Records are immutable: put a new object,
 * never mutate one you got.
 */
export interface Tx {
  readonly nowMs: number;
  get<T>(key: string): T | undefined;
  has(key: string): boolean;
  put(key: string, value: unknown): void;
  del(key: string): void;
  /** Runs `fn` after the command's batch is durable (e.g. waking a deliverer). Never throws into the engine. */
  afterCommit(fn: () => void): void;
  /**
   * Runs `fn` as a unit inside the command: if it throws, its writes are undone and the error
   * is rethrown, so the caller can catch it and go on (e.g. a sweeper isolating one bad item).
   */
  nested<R>(fn: () => R): R;
}

/** A state change: pure, synchronous work over the Tx. Throw to abort with no trace. */
export type Command<R> = (tx: Tx) => R;

/**
 * Called for every committed write, in commit order, and for every record at load.
 * Modules keep derived in-memory indexes with these (statements, expiry queues,
 * risk features). Must not throw.
 */
export type Observer = (key: string, before: unknown, after: unknown) => void;

export interface EngineOptions {
  store: Store;
  clock?: Clock;
  /** Commands waiting to be applied; past this, submit fails with ENGINE_OVERLOADED. */
  maxQueue?: number;
  /** Commands applied per durable batch. */
  maxBatch?: number;
}

interface Pending {
  cmd: Command<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

interface Settled {
  p: Pending;
  ok: boolean;
  value: unknown;
}

const TOMBSTONE = Symbol("deleted");

/** Store errors passed on to callers as they are (the store's own code says what happened). */
const STORE_SIGNALS: ReadonlySet<string> = new Set(["NOT_LEADER", "STORE_UNAVAILABLE"]);

/** The Tx of one command: its writes sit in an overlay until the command returns. */
class CommandTx implements Tx {
  overlay = new Map<string, unknown>();
  hooks: Array<() => void> | undefined;
  readonly #state: ShardedMap<unknown>;
  readonly nowMs: number;

  constructor(state: ShardedMap<unknown>, nowMs: number) {
    this.#state = state;
    this.nowMs = nowMs;
  }

  get<T>(key: string): T | undefined {
    const o = this.overlay.get(key);
    const v = o !== undefined ? o : this.#state.get(key);
    return (v === TOMBSTONE ? undefined : v) as T | undefined;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  put(key: string, value: unknown): void {
    invariant(typeof key === "string", "keys are strings");
    invariant(value !== undefined, "cannot put undefined", { key });
    this.overlay.set(key, deepFreeze(value));
  }

  del(key: string): void {
    invariant(typeof key === "string", "keys are strings");
    this.overlay.set(key, TOMBSTONE);
  }

  afterCommit(fn: () => void): void {
    (this.hooks ??= []).push(fn);
  }

  nested<R>(fn: () => R): R {
    const saved = new Map(this.overlay);
    const hooks = this.hooks?.length ?? 0;
    try {
      return fn();
    } catch (e) {
      this.overlay = saved;
      if (this.hooks) this.hooks.length = hooks;
      throw e;
    }
  }
}

/**
 * Why a store failed, for STORE_FAILURE's details: the reason the store gave and any system or
 * library code (EIO, ENOSPC, EFBIG, LEVEL_IO_ERROR) and underlying cause. Store errors carry
 * paths and codes, never records, so nothing secret goes into them.
 */
function causeDetails(e: unknown): Record<string, unknown> {
  const err = e as { message?: unknown; code?: unknown; details?: unknown } | undefined;
  const out: Record<string, unknown> = err?.details !== null && typeof err?.details === "object" ? { ...(err.details as Record<string, unknown>) } : {};
  out.reason ??= typeof err?.message === "string" ? err.message : String(e);
  if (typeof err?.code === "string") out.errorCode ??= err.code;
  return out;
}

function encodeOps(ops: Map<string, unknown>): StoreOp[] {
  const out: StoreOp[] = [];
  for (const [key, v] of ops) out.push(v === TOMBSTONE ? { type: "del", key } : { type: "put", key, value: encodeJson(v) });
  return out;
}

/**
 * The serial engine. Commands are applied one at a time to in-memory state, so no
 * two commands ever interleave between a check and a write. Every batch of
 * applied commands is written to the store as ONE atomic durable write, and only
 * then are their callers settled: many callers share one fsync (group commit).
 *
 * Invariants:
 * - a caller is told "done" only after its writes are durable;
 * - a failed command writes nothing, in memory or on disk;
 * - batches reach the store in the order they were applied;
 * - if the store fails, the in-memory state may be ahead of the disk, so the engine
 *   stops: every later command AND every read fails with STORE_FAILURE until it is reopened,
 *   which reloads the truth. Nothing a caller was told failed is ever visible (fail-stop).
 * - a STORE_FAILURE says in `details.outcome` what became of the caller's command: "unknown"
 *   (its batch's write failed: it may or may not be on disk, e.g. an fdatasync EIO; retry with the
 *   same idempotency key after reopening) or "not_written" (never handed to the store, or refused
 *   by it after an earlier failure); `details.reason` (and `errorCode`, `cause`) say why.
 */
export class Engine {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #maxQueue: number;
  readonly #maxBatch: number;
  /** Every record; sharded so its growth never rehashes everything at once (sharded-map.ts). */
  readonly #state = new ShardedMap<unknown>();
  readonly #observers: Array<{ prefix: string; fn: Observer }> = [];
  /** Observers that can match keys of one first segment ("pm/"), so a write checks one or two, not all. */
  readonly #observersBySegment = new Map<string, Array<{ prefix: string; fn: Observer }>>();
  readonly #durableObservers: Array<{ prefix: string; fn: Observer }> = [];
  #queue: Pending[] = [];
  #running = false;
  #closed = false;
  /** The first failure: set, the engine serves nothing more until reopened. */
  #failed: AgentPayError | undefined;
  /** The first batch that is not durable (every later one is refused): batches before it still settle. */
  #failedSeq = Infinity;
  #seq = 0;
  /** Set on a standby: new commands are refused with it (nothing applied). */
  #refusing: AgentPayError | undefined;
  #idle: Array<() => void> = [];
  #stats = { batches: 0, commands: 0, writes: 0 };
  #bytesPerOp = 512;

  private constructor(opts: EngineOptions) {
    this.#store = opts.store;
    this.#clock = opts.clock ?? systemClock;
    this.#maxQueue = opts.maxQueue ?? 100_000;
    this.#maxBatch = opts.maxBatch ?? 4_096;
    invariant(this.#maxQueue > 0 && this.#maxBatch > 0, "queue and batch limits must be positive");
  }

  /** Creates an engine; register observers, then call `load()`. */
  static create(opts: EngineOptions): Engine {
    return new Engine(opts);
  }

  get clock(): Clock {
    return this.#clock;
  }

  /** Observes committed writes whose key starts with `prefix`. Register before `load()`. */
  observe(prefix: string, fn: Observer): void {
    this.#observers.push({ prefix, fn });
    this.#observersBySegment.clear();
  }

  /**
   * Observes writes under `prefix` once their batch is durable (after the callers are answered),
   * for live feeds: never at load, never for a batch that failed. A throw is ignored.
   */
  observeDurable(prefix: string, fn: Observer): void {
    this.#durableObservers.push({ prefix, fn });
  }

  /** Opens the store and loads every record into memory, feeding the observers. */
  async load(): Promise<void> {
    await this.#store.open();
    for await (const [key, text] of this.#store.entries()) {
      const value = deepFreeze(decodeJson(text));
      this.#state.set(key, value);
      this.#notify(key, undefined, value);
    }
  }

  /**
   * A replica's way in: applies records another engine committed (a batch read back from a shared
   * store), feeding the observers as a load does. Only while writes are refused (a standby), so no
   * command of this engine interleaves. `text` undefined deletes the record. Throws if a record
   * cannot be decoded or an observer fails: the replica's memory is then unusable, so rebuild it.
   */
  applyCommitted(records: Iterable<readonly [string, string | undefined]>): void {
    invariant(this.#refusing !== undefined && !this.#running && this.#queue.length === 0, "committed batches are applied only while writes are refused");
    const state = this.#state;
    for (const [key, text] of records) {
      const before = state.get(key);
      if (text === undefined) {
        if (before === undefined) continue;
        state.delete(key);
        this.#notify(key, before, undefined);
      } else {
        const value = deepFreeze(decodeJson(text));
        state.set(key, value);
        this.#notify(key, before, value);
      }
    }
  }

  /**
   * From now on every new command (and every queued one not yet applied) is refused with `error`:
   * a standby, or a leader that lost its lease. Commands already applied settle as their write does.
   */
  refuseWrites(error: AgentPayError): void {
    this.#refusing = error;
    for (const p of this.#queue.splice(0)) p.reject(error);
  }

  /** Takes commands again (a standby that became the leader). */
  acceptWrites(): void {
    this.#refusing = undefined;
  }

  /** Why commands are refused, if they are: the engine's failure, or what refuseWrites set. */
  get refusal(): AgentPayError | undefined {
    return this.#failed ?? this.#refusing;
  }

  /** Set once a write failed (or an observer threw): the engine takes nothing more until reloaded. */
  get failure(): AgentPayError | undefined {
    return this.#failed;
  }

  /** Resolves once no command is queued, being applied or being written. */
  async idle(): Promise<void> {
    if (this.#running) await new Promise<void>((r) => this.#idle.push(r));
  }

  /**
   * Reads committed state (outside any command). After a store failure it throws STORE_FAILURE:
   * memory may hold writes the store refused, and none of them may be shown.
   */
  read<T>(key: string): T | undefined {
    if (this.#failed) throw this.#stopped();
    return this.#state.get(key) as T | undefined;
  }

  /** Iterates committed records under a prefix, in no particular order. O(all records): for tools and tests, not hot paths. */
  *scan<T>(prefix: string): IterableIterator<[string, T]> {
    if (this.#failed) throw this.#stopped();
    for (const [k, v] of this.#state) {
      if (this.#failed) throw this.#stopped();
      if (k.startsWith(prefix)) yield [k, v as T];
    }
  }

  /** Whether the engine stopped after a store failure (reopen to go on). */
  get failed(): boolean {
    return this.#failed !== undefined;
  }

  /** What a caller hears once the engine has stopped: its command was not written. */
  #stopped(): AgentPayError {
    const first = this.#failed!;
    // A store's own signal (NOT_LEADER, STORE_UNAVAILABLE) keeps its code: the caller's next step differs.
    if (STORE_SIGNALS.has(first.code)) return new AgentPayError(first.code, first.message, { ...first.details, outcome: "not_written" }, { cause: first });
    return new AgentPayError("STORE_FAILURE", "the engine stopped after a store failure; reopen to recover", {
      ...first.details, outcome: "not_written",
    }, { cause: first });
  }

  #fail(seq: number, message: string, outcome: "unknown" | "not_written", cause: unknown): AgentPayError {
    return this.#failWith(seq, new AgentPayError("STORE_FAILURE", message, { ...causeDetails(cause), outcome }, { cause }));
  }

  /** Records the first failure by batch order; returns what that batch's callers hear. */
  #failWith(seq: number, e: AgentPayError): AgentPayError {
    if (seq < this.#failedSeq) {
      this.#failedSeq = seq;
      this.#failed = e;
    }
    return e;
  }

  get stats(): Readonly<{ batches: number; commands: number; writes: number; queued: number; records: number }> {
    return { ...this.#stats, queued: this.#queue.length, records: this.#state.size };
  }

  /** Queues a command; resolves with its result once it is durable, rejects with its error. */
  submit<R>(cmd: Command<R>): Promise<R> {
    if (typeof cmd !== "function") return Promise.reject(new AgentPayError("INVALID_INPUT", "a command is a function of the Tx"));
    if (this.#failed) return Promise.reject(this.#stopped());
    if (this.#closed) return Promise.reject(new AgentPayError("ENGINE_CLOSED", "the engine is closed"));
    if (this.#refusing) return Promise.reject(this.#refusing);
    if (this.#queue.length >= this.#maxQueue) {
      return Promise.reject(
        new AgentPayError("ENGINE_OVERLOADED", "too many commands waiting; retry later", { maxQueue: this.#maxQueue }),
      );
    }
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ cmd, resolve: resolve as (v: unknown) => void, reject });
      if (!this.#running) {
        this.#running = true;
        queueMicrotask(() => void this.#run());
      }
    });
  }

  /** Stops taking commands, waits for the queued ones to be durable, closes the store. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#running) await new Promise<void>((r) => this.#idle.push(r));
    await this.#store.close();
  }

  async #run(): Promise<void> {
    // Apply batch n+1 in memory while batch n is being written: CPU and fsync overlap.
    let inFlight: Promise<void> = Promise.resolve();
    try {
      while (this.#queue.length > 0 && !this.#failed) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        const seq = ++this.#seq;
        const ops = new Map<string, unknown>();
        const settled: Settled[] = [];
        const after: Array<() => void> = [];
        try {
          for (const p of batch) settled.push(this.#apply(p, ops, after));
        } catch (e) {
          // An observer threw while memory took a command's writes: memory may be ahead of what any
          // batch will write. Stop, as for a disk failure; reopening reloads the truth.
          const err = this.#fail(seq, "an observer failed while applying a command; reopen to recover", "not_written", e);
          for (const p of batch) p.reject(err);
          break;
        }
        this.#stats.batches += 1;
        this.#stats.commands += batch.length;
        const previous = inFlight;
        let writing: Promise<void>;
        try {
          writing = ops.size === 0 ? Promise.resolve() : this.#write(ops);
        } catch (e) {
          // Memory already holds these commands' effects: stop, as for a disk failure.
          const err = this.#fail(seq, "a record could not be encoded; reopen to recover", "not_written", e);
          for (const s of settled) s.p.reject(err);
          break;
        }
        this.#stats.writes += ops.size;
        // Handed to the store now, so it starts the moment the previous write ends (the store applies
        // writes in call order, and refuses every later one after a failure); callers are settled in order.
        writing.catch(() => {}); // observed in order by #settle
        inFlight = previous.then(() => this.#settle(seq, writing, settled, after));
        // Keep at most two batches in flight: bounded memory for applied-but-unwritten state.
        await previous;
        if (this.#queue.length === 0) await inFlight;
      }
      await inFlight;
    } finally {
      this.#running = false;
      if (this.#queue.length > 0 && !this.#failed) {
        this.#running = true;
        queueMicrotask(() => void this.#run());
      } else {
        for (const r of this.#idle.splice(0)) r();
      }
    }
    if (this.#failed) for (const p of this.#queue.splice(0)) p.reject(this.#stopped());
  }

  /** Encodes the batch (throws if a record cannot be) and hands it to the store. */
  #write(ops: Map<string, unknown>): Promise<void> {
    if (!this.#store.writePacked) return this.#store.write(encodeOps(ops));
    const packed = packRecords(ops, TOMBSTONE, this.#bytesPerOp);
    // Sizes the next batch's buffer (usually no growth), within bounds whatever this batch held.
    this.#bytesPerOp = Math.min(4_096, Math.ceil((packed.byteLength / ops.size) * 1.25));
    return this.#store.writePacked(packed);
  }

  #apply(p: Pending, ops: Map<string, unknown>, after: Array<() => void>): Settled {
    const tx = new CommandTx(this.#state, this.#clock.nowMs());
    let value: unknown;
    try {
      value = p.cmd(tx);
      invariant(!(value instanceof Promise), "commands must be synchronous");
    } catch (e) {
      return { p, ok: false, value: e };
    }
    const state = this.#state;
    for (const [key, v] of tx.overlay) {
      const before = state.get(key);
      if (v === TOMBSTONE) state.delete(key);
      else state.set(key, v);
      // Only the last value of a key in a batch is written; it is encoded once, at the end.
      ops.set(key, v);
      this.#notify(key, before, v === TOMBSTONE ? undefined : v);
      for (const o of this.#durableObservers) {
        if (key.startsWith(o.prefix)) after.push(() => o.fn(key, before, v === TOMBSTONE ? undefined : v));
      }
    }
    if (tx.hooks) after.push(...tx.hooks);
    return { p, ok: true, value };
  }

  async #settle(seq: number, writing: Promise<void>, settled: Settled[], after: Array<() => void>): Promise<void> {
    // Settled in order: an earlier batch failed, so this one was refused by the store (or its results
    // may rest on state that never reached the disk).
    if (seq > this.#failedSeq) {
      const err = this.#stopped();
      for (const s of settled) s.p.reject(err);
      return;
    }
    try {
      await writing;
    } catch (e) {
      // A store that knows why says so (NOT_LEADER: fenced by a newer leader; STORE_UNAVAILABLE: the
      // outcome is unknown); either way memory may be ahead of the store, so the engine stops.
      const err = isAgentPayError(e) && STORE_SIGNALS.has(e.code)
        ? this.#failWith(seq, e)
        : this.#fail(seq, "the store failed to write; reopen to recover (the write may or may not be on disk: retry with the same idempotency key)", "unknown", e);
      for (const s of settled) s.p.reject(err);
      return;
    }
    // Durable, and every batch before it was: its callers may hear so, even if a later batch has failed since.
    for (const s of settled) (s.ok ? s.p.resolve : s.p.reject)(s.value);
    for (const fn of after) {
      try {
        fn();
      } catch {
        // after-commit hooks are best effort by contract
      }
    }
  }

  #notify(key: string, before: unknown, after: unknown): void {
    const slash = key.indexOf("/");
    if (slash < 0) {
      for (const o of this.#observers) if (key.startsWith(o.prefix)) o.fn(key, before, after);
      return;
    }
    // Bounded: keys are "<segment>/...", and segments are a fixed set of record kinds.
    const segment = key.slice(0, slash + 1);
    let candidates = this.#observersBySegment.get(segment);
    if (!candidates) {
      candidates = this.#observers.filter((o) => o.prefix.startsWith(segment) || segment.startsWith(o.prefix));
      this.#observersBySegment.set(segment, candidates);
    }
    for (const o of candidates) if (key.startsWith(o.prefix)) o.fn(key, before, after);
  }
}
