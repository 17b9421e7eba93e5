// Per-destination limits, so one slow or hostile webhook endpoint cannot take every delivery slot
// nor be flooded: a token bucket per destination (scheme, host, port) and a cap on its requests in
// flight. A delivery that must wait is parked (no attempt spent) and handed back, in arrival order,
// when its destination has room.
import type { Clock } from "../core/index.ts";

export interface DestinationLimiterOptions {
  clock: Clock;
  /** Requests per second per destination (the bucket's refill rate). */
  ratePerSecond: number;
  /** Bucket size: requests a quiet destination may receive at once. */
  burst: number;
  /** Requests in flight per destination. */
  concurrency: number;
  /**
   * Destinations with state kept while idle; past it the least recently used idle ones are forgotten
   * (a forgotten destination starts again with a full bucket). Destinations with deliveries waiting
   * or in flight are always kept: there are at most as many as pending webhook deliveries.
   */
  maxDestinations: number;
  /** Longest sleep before looking again at destinations waiting for tokens (also picks up clock jumps). */
  pollMs: number;
  /** A parked delivery may go now (its token and slot are reserved for it). Called from a microtask. */
  onReady: (id: string) => void;
}

interface Bucket {
  tokens: number;
  atMs: number;
  inFlight: number;
  /** Reserved for parked deliveries handed back, until they come to `acquire`. */
  granted: Set<string>;
  /** Parked deliveries, in arrival order. */
  waiting: Set<string>;
}

type Where = { origin: string; state: "waiting" | "granted" | "inFlight" };

export class DestinationLimiter {
  readonly #o: DestinationLimiterOptions;
  /** Least recently used first (re-inserted on use). */
  readonly #buckets = new Map<string, Bucket>();
  readonly #where = new Map<string, Where>();
  /** Destinations with deliveries waiting for a token. */
  readonly #starved = new Set<string>();
  #waiting = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: DestinationLimiterOptions) {
    this.#o = options;
  }

  /** Deliveries parked here, waiting for their destination's turn. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Destinations with state kept. */
  get destinations(): number {
    return this.#buckets.size;
  }

  /**
   * May delivery `id` be sent to `origin` now? true: yes (call `release(id)` when the request has
   * ended). false: it is parked here; `onReady(id)` says when to come back.
   */
  acquire(id: string, origin: string): boolean {
    const known = this.#where.get(id);
    if (known && known.origin === origin) {
      const b = this.#buckets.get(origin)!;
      if (known.state === "inFlight") return true; // already counted (the scheduler never runs one id twice)
      if (known.state === "granted") {
        b.granted.delete(id);
        b.inFlight += 1;
        known.state = "inFlight";
        return true;
      }
      if (known.state === "waiting") return false;
    }
    if (known) this.forget(id); // its destination changed (a stale entry): start over
    const b = this.#bucket(origin);
    this.#refill(b);
    if (b.waiting.size === 0 && this.#hasSlot(b) && b.tokens >= 1) {
      b.tokens -= 1;
      b.inFlight += 1;
      this.#where.set(id, { origin, state: "inFlight" });
      return true;
    }
    b.waiting.add(id);
    this.#waiting += 1;
    this.#where.set(id, { origin, state: "waiting" });
    this.#serve(origin, b);
    return false;
  }

  /** The request of `id` has ended: its slot is free. */
  release(id: string): void {
    const w = this.#where.get(id);
    if (!w || w.state !== "inFlight") return;
    this.#where.delete(id);
    const b = this.#buckets.get(w.origin)!;
    b.inFlight -= 1;
    this.#serve(w.origin, b);
  }

  /** `id` is no longer pending: drop it if it waits or holds a reservation (in flight: `release` does). */
  forget(id: string): void {
    const w = this.#where.get(id);
    if (!w || w.state === "inFlight") return;
    this.#where.delete(id);
    const b = this.#buckets.get(w.origin)!;
    if (w.state === "waiting") {
      b.waiting.delete(id);
      this.#waiting -= 1;
    } else {
      b.granted.delete(id);
      b.tokens = Math.min(this.#o.burst, b.tokens + 1); // the reservation's token goes back
    }
    this.#serve(w.origin, b);
  }

  /** Forgets everything (the deliverer stopped); returns the parked deliveries, to put back in line. */
  reset(): string[] {
    const parked: string[] = [];
    for (const b of this.#buckets.values()) parked.push(...b.waiting);
    this.#buckets.clear();
    this.#where.clear();
    this.#starved.clear();
    this.#waiting = 0;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    return parked;
  }

  #hasSlot(b: Bucket): boolean {
    return b.inFlight + b.granted.size < this.#o.concurrency;
  }

  #refill(b: Bucket): void {
    const now = this.#o.clock.nowMs();
    if (now > b.atMs) b.tokens = Math.min(this.#o.burst, b.tokens + ((now - b.atMs) * this.#o.ratePerSecond) / 1_000);
    b.atMs = now;
  }

  #bucket(origin: string): Bucket {
    let b = this.#buckets.get(origin);
    if (b) {
      this.#buckets.delete(origin); // most recently used goes last
    } else {
      b = { tokens: this.#o.burst, atMs: this.#o.clock.nowMs(), inFlight: 0, granted: new Set(), waiting: new Set() };
      this.#evictIdle();
    }
    this.#buckets.set(origin, b);
    return b;
  }

  #idle(b: Bucket): boolean {
    return b.inFlight === 0 && b.granted.size === 0 && b.waiting.size === 0;
  }

  /** Keeps idle state within maxDestinations, forgetting the least recently used first. */
  #evictIdle(): void {
    if (this.#buckets.size < this.#o.maxDestinations) return;
    for (const [origin, b] of this.#buckets) {
      if (this.#buckets.size < this.#o.maxDestinations) break;
      if (this.#idle(b)) this.#buckets.delete(origin);
    }
  }

  /** Hands waiting deliveries back while the destination has a slot and a token; forgets it once idle and full. */
  #serve(origin: string, b: Bucket): void {
    this.#refill(b);
    while (b.waiting.size > 0 && this.#hasSlot(b) && b.tokens >= 1) {
      const id = b.waiting.values().next().value!;
      b.waiting.delete(id);
      this.#waiting -= 1;
      b.tokens -= 1;
      b.granted.add(id);
      this.#where.set(id, { origin, state: "granted" });
      // Never synchronously: `acquire` may be the caller, and its caller parks the delivery after it returns.
      queueMicrotask(() => this.#o.onReady(id));
    }
    if (b.waiting.size > 0 && this.#hasSlot(b)) {
      // Waiting for a token (a slot frees itself through release()).
      this.#starved.add(origin);
      this.#arm();
    } else {
      this.#starved.delete(origin);
    }
    // An idle destination with a full bucket is no different from one never seen.
    if (this.#idle(b) && b.tokens >= this.#o.burst) this.#buckets.delete(origin);
  }

  #arm(): void {
    if (this.#timer !== undefined || this.#starved.size === 0) return;
    let delayMs = this.#o.pollMs;
    for (const origin of this.#starved) {
      const b = this.#buckets.get(origin);
      if (b) delayMs = Math.min(delayMs, Math.ceil(((1 - b.tokens) * 1_000) / this.#o.ratePerSecond));
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      for (const origin of [...this.#starved]) {
        const b = this.#buckets.get(origin);
        if (b) this.#serve(origin, b);
        else this.#starved.delete(origin);
      }
      this.#arm();
    }, Math.max(1, delayMs));
    this.#timer.unref();
  }
}
