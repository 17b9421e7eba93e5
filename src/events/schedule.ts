import { MinHeap } from "../core/index.ts";
import type { Clock } from "../core/index.ts";

/** Backoff before retry n: uniform in [0, min(maxDelayMs, baseDelayMs·2^(n-1))) ("full jitter"). */
export function backoffMs(attempt: number, baseDelayMs: number, maxDelayMs: number, random: () => number): number {
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(attempt - 1, 40));
  return Math.floor(random() * ceiling);
}

export interface SchedulerOptions {
  clock: Clock;
  /** Attempts in flight at once. */
  concurrency: number;
  /** Due deliveries held in memory waiting for a free slot. */
  maxQueue: number;
  /** Longest sleep between checks for due deliveries. */
  pollMs: number;
  /** Makes one attempt at delivery `id` (never rejects in a way the scheduler needs to see). */
  run: (id: string) => Promise<void>;
  /** False once the engine failed a write: it serves nothing until reopened, so attempts would only spin. */
  canRun: () => boolean;
}

/**
 * When each pending delivery is due, and the pump that starts attempts: a min-heap of due
 * times (stale entries are skipped against the index), a bounded queue of due deliveries and
 * a bounded number of attempts in flight. A delivery is in at most one of: the heap (waiting
 * for its time), parked (waiting for something else, e.g. a subscriber or its destination's
 * turn), the queue or in flight.
 */
export class Scheduler {
  readonly #o: SchedulerOptions;
  /** Pending delivery id → when it is due (the truth; heap entries that disagree are stale). */
  readonly #index = new Map<string, number>();
  #heap = new MinHeap<string>();
  /** Pending but not waiting for a time: left out of the heap until `unpark`. */
  readonly #parked = new Set<string>();
  #queue: string[] = [];
  /** Queued or in flight. */
  readonly #busy = new Set<string>();
  readonly #tasks = new Set<Promise<void>>();
  #running = 0;
  #started = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #wakeScheduled = false;

  constructor(options: SchedulerOptions) {
    this.#o = options;
  }

  /** `id` is pending, due at `atMs` (its stored `nextAttemptAtMs`). */
  set(id: string, atMs: number): void {
    this.#index.set(id, atMs);
    this.#heap.push(atMs, id);
    this.wake();
  }

  /** `id` is no longer pending. */
  delete(id: string): void {
    this.#index.delete(id);
    this.#parked.delete(id);
  }

  has(id: string): boolean {
    return this.#index.has(id);
  }

  /** In memory only: try `id` again at `atMs` (the store keeps the earlier time, so a restart tries sooner). */
  defer(id: string, atMs: number): void {
    if (!this.#index.has(id)) return;
    // The index holds the truth, so a heap entry alone would be dropped as stale.
    this.#index.set(id, atMs);
    this.#heap.push(atMs, id);
  }

  park(id: string): void {
    this.#parked.add(id);
  }

  /** Puts a parked delivery back in line (due at its time, usually at once). */
  unpark(id: string): void {
    if (!this.#parked.delete(id)) return;
    const t = this.#index.get(id);
    if (t !== undefined) this.#heap.push(t, id);
    this.wake();
  }

  parked(): IterableIterator<string> {
    return this.#parked.values();
  }

  get pending(): number {
    return this.#index.size;
  }

  get inFlight(): number {
    return this.#running;
  }

  get queued(): number {
    return this.#queue.length;
  }

  get started(): boolean {
    return this.#started;
  }

  start(): void {
    this.#started = true;
    this.#rebuildHeap();
    this.wake();
  }

  /** No new attempts; resolves when the attempts in flight have ended (abort them first to hurry them). */
  async stop(): Promise<void> {
    this.#started = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const id of this.#queue) this.#busy.delete(id);
    this.#queue = [];
    await Promise.allSettled([...this.#tasks]);
  }

  #rebuildHeap(): void {
    const heap = new MinHeap<string>();
    for (const [id, t] of this.#index) if (!this.#parked.has(id)) heap.push(t, id);
    this.#heap = heap;
  }

  wake(): void {
    if (!this.#started || this.#wakeScheduled) return;
    this.#wakeScheduled = true;
    // Never pump from inside an engine observer: defer to a fresh task.
    setImmediate(() => {
      this.#wakeScheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    if (!this.#started || !this.#o.canRun()) return;
    const now = this.#o.clock.nowMs();
    // Stale heap entries pile up as records change; compact when they dominate.
    if (this.#heap.size > 4 * this.#index.size + 1_024) this.#rebuildHeap();
    while (this.#queue.length < this.#o.maxQueue) {
      const t = this.#heap.peekKey();
      if (t === undefined || t > now) break;
      const { key: time, value: id } = this.#heap.pop()!;
      if (this.#index.get(id) !== time || this.#busy.has(id) || this.#parked.has(id)) continue;
      this.#busy.add(id);
      this.#queue.push(id);
    }
    while (this.#running < this.#o.concurrency && this.#queue.length > 0) {
      const id = this.#queue.shift()!;
      this.#running += 1;
      const task: Promise<void> = this.#o.run(id)
        .catch(() => {})
        .finally(() => {
          this.#running -= 1;
          this.#busy.delete(id);
          this.#tasks.delete(task);
          // Its heap entry may have come due (and been skipped) while it was busy: put it back.
          const t = this.#index.get(id);
          if (t !== undefined && !this.#parked.has(id)) this.#heap.push(t, id);
          this.wake();
        });
      this.#tasks.add(task);
    }
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const next = this.#heap.peekKey();
    if (next !== undefined && this.#queue.length < this.#o.maxQueue) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#pump();
      }, Math.min(this.#o.pollMs, Math.max(0, next - now)));
      this.#timer.unref();
    }
  }
}
