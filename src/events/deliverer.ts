import { AgentPayError, MinHeap } from "../core/index.ts";
import type { Clock } from "../core/index.ts";
import type { Engine, Tx } from "../engine/index.ts";
import { deliveryView } from "./outbox.ts";
import { signWebhook } from "./signature.ts";
import type { WebhookSecret } from "./signature.ts";
import {
  DELIVERY_PREFIX, HEADER_ATTEMPT, HEADER_DELIVERY_ID, HEADER_EVENT_ID, HEADER_EVENT_TYPE, HEADER_SIGNATURE,
  EVENT_PREFIX, HEADER_TIMESTAMP, deliveryKey, eventKey, heldDelivery,
} from "./types.ts";
import type { DeliveryAttempt, DeliveryRecord, DeliveryView, Event, EventRecord, WebhookDestination } from "./types.ts";

export interface EventDelivererOptions {
  /** Resolves a destination's `secretRef` at delivery time (e.g. to the merchant's callback secret). */
  resolveSecret?: (secretRef: string) => WebhookSecret | undefined;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Backoff before retry n is uniform in [0, min(maxDelayMs, baseDelayMs·2^(n-1))) ("full jitter"). Default 1 s. */
  baseDelayMs?: number;
  /** Default 1 hour. */
  maxDelayMs?: number;
  /** After this many failed attempts a delivery is dead-lettered. Default 15, at most 50. */
  maxAttempts?: number;
  /** Per attempt: the HTTP request, or the in-process subscribers. Default 10 s. */
  timeoutMs?: number;
  /** Attempts in flight at once. Default 8. */
  concurrency?: number;
  /** Due deliveries held in memory waiting for a free slot; the rest wait in the store. Default 1,000. */
  maxQueue?: number;
  /** Longest sleep between checks for due deliveries (also picks up clock jumps). Default 1 s. */
  pollMs?: number;
  /** Attempt records kept per delivery (the most recent). Default 50. */
  maxLog?: number;
  /** Randomness for the jitter, in [0, 1). Default Math.random. */
  random?: () => number;
  userAgent?: string;
}

export interface SubscriberContext {
  deliveryId: string;
  topic: string;
  attempt: number;
  /** Aborted when the attempt times out or the deliverer stops. */
  signal: AbortSignal;
}

/**
 * An in-process consumer. Resolving (or returning) acknowledges the event; throwing or
 * rejecting makes the delivery retry later (to every subscriber of the topic again).
 */
export type Subscriber = (event: Event, ctx: SubscriberContext) => void | Promise<void>;

export interface SubscribeOptions {
  /** Topics to receive; all topics when omitted. */
  topics?: readonly string[];
}

export interface DelivererStats {
  pending: number;
  dead: number;
  inFlight: number;
  queued: number;
  attempts: number;
  delivered: number;
  failures: number;
  deadLettered: number;
}

interface Sub {
  fn: Subscriber;
  topics: ReadonlySet<string> | undefined;
}

interface Outcome {
  ok: boolean;
  statusCode?: number;
  error?: string;
  /** Cut short by `stop()`: rescheduled, never dead-lettered for it. */
  interrupted?: boolean;
}

const MAX_MAX_ATTEMPTS = 50;
const LEASE_EXTRA_MS = 1_000;

function intOption(value: unknown, name: string, def: number, min: number, max: number): number {
  if (value === undefined) return def;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new AgentPayError("INVALID_INPUT", `${name} must be an integer from ${min} to ${max}`, { field: name });
  }
  return value;
}

/** Wire JSON of an event: bigints become decimal strings. Deterministic, so every retry sends the same bytes. */
export function webhookBody(event: Event): string {
  return JSON.stringify(
    { id: event.id, type: event.type, createdAtMs: event.createdAtMs, subject: event.subject, data: event.data },
    (_k, v) => (typeof v === "bigint" ? v.toString() : v),
  );
}

function toEvent(r: EventRecord): Event {
  return structuredClone({ id: r.id, type: r.type, createdAtMs: r.createdAtMs, subject: r.subject, data: r.data });
}

/** A short label for a failed request: never the message (it may carry a URL), never a secret. */
function errorLabel(e: unknown): string {
  if (e instanceof Error || (typeof e === "object" && e !== null)) {
    const err = e as { name?: unknown; cause?: { code?: unknown } };
    if (err.name === "TimeoutError") return "timeout";
    const code = err.cause?.code;
    if (typeof code === "string" && /^[A-Z0-9_]{1,40}$/.test(code)) return code;
  }
  return "network_error";
}

// --- the two engine commands of an attempt -------------------------------------------------

interface Claimed {
  delivery: DeliveryRecord;
  event: EventRecord | undefined;
}

/**
 * Counts the attempt before it is made, and leases the delivery so a crash mid-attempt retries it later.
 * A topic delivery still held in its event (`eventId` given) gets its record here, leaving the event's list.
 */
function claim(tx: Tx, id: string, leaseMs: number, eventId?: string): Claimed | undefined {
  let d = tx.get<DeliveryRecord>(deliveryKey(id));
  if (!d && eventId !== undefined) {
    const ev = tx.get<EventRecord>(eventKey(eventId));
    d = ev && heldDelivery(ev, id);
    if (!ev || !d) return undefined;
    const { topics: all = [], ...rest } = ev;
    const topics = all.filter((t) => t.id !== id);
    // The record first: the event observer then sees the delivery already written.
    tx.put(deliveryKey(id), d);
    tx.put(eventKey(ev.id), topics.length > 0 ? { ...rest, topics } : rest);
  }
  if (!d || d.status !== "pending" || d.nextAttemptAtMs > tx.nowMs) return undefined;
  const next: DeliveryRecord = { ...d, attempts: d.attempts + 1, nextAttemptAtMs: tx.nowMs + leaseMs, updatedAtMs: tx.nowMs };
  tx.put(deliveryKey(id), next);
  return { delivery: next, event: tx.get<EventRecord>(eventKey(d.eventId)) };
}

function recordResult(
  tx: Tx, id: string, attempt: number, entry: DeliveryAttempt, outcome: Outcome, delayMs: number, maxAttempts: number, maxLog: number,
): DeliveryRecord | undefined {
  const d = tx.get<DeliveryRecord>(deliveryKey(id));
  if (!d || d.status !== "pending" || d.attempts !== attempt) return undefined; // superseded
  const log = [...d.log, entry].slice(-maxLog);
  let next: DeliveryRecord;
  if (outcome.ok) {
    next = { ...d, status: "delivered", deliveredAtMs: tx.nowMs, updatedAtMs: tx.nowMs, log };
  } else if (!outcome.interrupted && attempt >= maxAttempts) {
    next = { ...d, status: "dead", deadAtMs: tx.nowMs, updatedAtMs: tx.nowMs, log };
  } else {
    next = { ...d, nextAttemptAtMs: tx.nowMs + delayMs, updatedAtMs: tx.nowMs, log };
  }
  tx.put(deliveryKey(id), next);
  return next;
}

/**
 * Delivers the outbox at least once. Construct it BEFORE `engine.load()`: its observer
 * rebuilds the set of pending deliveries from the store, which is how delivery resumes
 * after a restart. `start()` begins sending; `stop()` interrupts what is in flight and waits.
 */
export class EventDeliverer {
  readonly #engine: Engine;
  readonly #clock: Clock;
  readonly #fetch: typeof fetch;
  readonly #resolveSecret: ((ref: string) => WebhookSecret | undefined) | undefined;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #maxAttempts: number;
  readonly #timeoutMs: number;
  readonly #concurrency: number;
  readonly #maxQueue: number;
  readonly #pollMs: number;
  readonly #maxLog: number;
  readonly #random: () => number;
  readonly #userAgent: string;

  /** Pending delivery id → its nextAttemptAtMs (the truth; heap entries that disagree are stale). */
  readonly #index = new Map<string, number>();
  #heap = new MinHeap<string>();
  readonly #dead = new Set<string>();
  /** Topic deliveries waiting for a subscriber of their topic. */
  readonly #parked = new Set<string>();
  /** Topic deliveries held in their events (no record yet): delivery id → event id. */
  readonly #held = new Map<string, string>();
  #queue: string[] = [];
  /** Queued or in flight. */
  readonly #busy = new Set<string>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #subs = new Set<Sub>();
  #running = 0;
  #started = false;
  #stopCtl = new AbortController();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #wakeScheduled = false;
  #counters = { attempts: 0, delivered: 0, failures: 0, deadLettered: 0 };
  /** Events by creation time, for retention. */
  readonly #byAge = new MinHeap<string>();

  constructor(engine: Engine, options: EventDelivererOptions = {}) {
    if (options === null || typeof options !== "object") throw new AgentPayError("INVALID_INPUT", "options must be an object");
    this.#engine = engine;
    this.#clock = engine.clock;
    const f = options.fetch ?? globalThis.fetch;
    if (typeof f !== "function") throw new AgentPayError("INVALID_INPUT", "no fetch available", { field: "fetch" });
    this.#fetch = f;
    if (options.resolveSecret !== undefined && typeof options.resolveSecret !== "function") {
      throw new AgentPayError("INVALID_INPUT", "resolveSecret must be a function", { field: "resolveSecret" });
    }
    this.#resolveSecret = options.resolveSecret;
    this.#baseDelayMs = intOption(options.baseDelayMs, "baseDelayMs", 1_000, 1, 86_400_000);
    this.#maxDelayMs = intOption(options.maxDelayMs, "maxDelayMs", 3_600_000, this.#baseDelayMs, 7 * 86_400_000);
    this.#maxAttempts = intOption(options.maxAttempts, "maxAttempts", 15, 1, MAX_MAX_ATTEMPTS);
    this.#timeoutMs = intOption(options.timeoutMs, "timeoutMs", 10_000, 1, 600_000);
    this.#concurrency = intOption(options.concurrency, "concurrency", 8, 1, 1_024);
    this.#maxQueue = intOption(options.maxQueue, "maxQueue", 1_000, 1, 1_000_000);
    this.#pollMs = intOption(options.pollMs, "pollMs", 1_000, 1, 3_600_000);
    this.#maxLog = intOption(options.maxLog, "maxLog", 50, 1, 1_000);
    this.#random = options.random ?? Math.random;
    this.#userAgent = options.userAgent ?? "agentpay-webhooks/0.1";
    engine.observe(DELIVERY_PREFIX, (key, _before, after) => this.#observe(key.slice(DELIVERY_PREFIX.length), after as DeliveryRecord | undefined));
    engine.observe(EVENT_PREFIX, (key, before, after) => {
      if (after && !before) this.#byAge.push((after as EventRecord).createdAtMs, key.slice(EVENT_PREFIX.length));
      this.#observeTopics(before as EventRecord | undefined, after as EventRecord | undefined);
    });
  }

  /** Topic deliveries held in events are pending deliveries like the others (see EventRecord.topics). */
  #observeTopics(before: EventRecord | undefined, after: EventRecord | undefined): void {
    const now = new Set(after?.topics?.map((t) => t.id));
    for (const t of before?.topics ?? []) {
      if (now.has(t.id)) continue;
      this.#held.delete(t.id);
      // Left the event without a record (the event was pruned): no longer pending.
      if (!this.#engine.read(deliveryKey(t.id))) this.#observe(t.id, undefined);
    }
    if (!after?.topics) return;
    for (const t of after.topics) {
      if (this.#held.has(t.id)) continue;
      this.#held.set(t.id, after.id);
      this.#observe(t.id, heldDelivery(after, t.id));
    }
  }

  /** A delivery's record, or the one a topic delivery held in its event will get. */
  #record(id: string): DeliveryRecord | undefined {
    const d = this.#engine.read<DeliveryRecord>(deliveryKey(id));
    if (d) return d;
    const eventId = this.#held.get(id);
    const ev = eventId !== undefined ? this.#engine.read<EventRecord>(eventKey(eventId)) : undefined;
    return ev && heldDelivery(ev, id);
  }

  #observe(id: string, d: DeliveryRecord | undefined): void {
    if (d && d.status === "pending") {
      this.#index.set(id, d.nextAttemptAtMs);
      this.#heap.push(d.nextAttemptAtMs, id);
      this.#dead.delete(id);
      this.#wake();
      return;
    }
    this.#index.delete(id);
    this.#parked.delete(id);
    if (d && d.status === "dead") this.#dead.add(id);
    else this.#dead.delete(id);
  }

  // --- lifecycle ------------------------------------------------------------------------------

  /** Starts delivering (after `engine.load()`). Idempotent. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#stopCtl = new AbortController();
    this.#rebuildHeap();
    this.#wake();
  }

  /** Stops: no new attempts; attempts in flight are aborted (and rescheduled); resolves when they have ended. */
  async stop(): Promise<void> {
    this.#started = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#stopCtl.abort();
    for (const id of this.#queue) this.#busy.delete(id);
    this.#queue = [];
    await Promise.allSettled([...this.#tasks]);
  }

  get started(): boolean {
    return this.#started;
  }

  #rebuildHeap(): void {
    const heap = new MinHeap<string>();
    for (const [id, t] of this.#index) if (!this.#parked.has(id)) heap.push(t, id);
    this.#heap = heap;
  }

  #wake(): void {
    if (!this.#started || this.#wakeScheduled) return;
    this.#wakeScheduled = true;
    // Never pump from inside an engine observer: defer to a fresh task.
    setImmediate(() => {
      this.#wakeScheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    // After a store failure the engine serves nothing until reopened: attempts would only spin.
    if (!this.#started || this.#engine.failed) return;
    const now = this.#clock.nowMs();
    // Stale heap entries pile up as records change; compact when they dominate.
    if (this.#heap.size > 4 * this.#index.size + 1_024) this.#rebuildHeap();
    while (this.#queue.length < this.#maxQueue) {
      const t = this.#heap.peekKey();
      if (t === undefined || t > now) break;
      const { key: time, value: id } = this.#heap.pop()!;
      if (this.#index.get(id) !== time || this.#busy.has(id) || this.#parked.has(id)) continue;
      this.#busy.add(id);
      this.#queue.push(id);
    }
    while (this.#running < this.#concurrency && this.#queue.length > 0) {
      const id = this.#queue.shift()!;
      this.#running += 1;
      const task: Promise<void> = this.#attempt(id)
        .catch(() => {})
        .finally(() => {
          this.#running -= 1;
          this.#busy.delete(id);
          this.#tasks.delete(task);
          // Its heap entry may have come due (and been skipped) while it was busy: put it back.
          const t = this.#index.get(id);
          if (t !== undefined && !this.#parked.has(id)) this.#heap.push(t, id);
          this.#wake();
        });
      this.#tasks.add(task);
    }
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const next = this.#heap.peekKey();
    if (next !== undefined && this.#queue.length < this.#maxQueue) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#pump();
      }, Math.min(this.#pollMs, Math.max(0, next - now)));
      this.#timer.unref();
    }
  }

  // --- one attempt ---------------------------------------------------------------------------

  #backoffMs(attempt: number): number {
    const ceiling = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** Math.min(attempt - 1, 40));
    return Math.floor(this.#random() * ceiling);
  }

  async #attempt(id: string): Promise<void> {
    const current = this.#record(id);
    if (!current || current.status !== "pending") return;
    let subs: Sub[] = [];
    if (current.destination.kind === "topic") {
      subs = this.#subscribersOf(current.destination.topic);
      if (subs.length === 0) {
        this.#parked.add(id); // not an attempt: waits for a subscriber
        return;
      }
    }
    let claimed: Claimed | undefined;
    try {
      // Also orders us after the batch that created the delivery: we never send an event
      // before the state change it reports is durable.
      claimed = await this.#engine.submit((tx) => claim(tx, id, this.#timeoutMs + LEASE_EXTRA_MS, this.#held.get(id)));
    } catch (e) {
      if (e instanceof AgentPayError && e.code === "ENGINE_OVERLOADED" && this.#index.has(id)) {
        // Back off: the index holds the truth, so a heap entry alone would be dropped as stale.
        const t = this.#clock.nowMs() + this.#baseDelayMs;
        this.#index.set(id, t);
        this.#heap.push(t, id);
      }
      return;
    }
    if (!claimed) return;
    const { delivery, event } = claimed;
    this.#counters.attempts += 1;
    const atMs = this.#clock.nowMs();
    const t0 = performance.now();
    let outcome: Outcome;
    if (!event) outcome = { ok: false, error: "event_missing" };
    else if (delivery.destination.kind === "webhook") outcome = await this.#sendWebhook(delivery, delivery.destination, event);
    else outcome = await this.#sendTopic(delivery, delivery.destination.topic, event, subs);
    const entry: DeliveryAttempt = {
      attempt: delivery.attempts, atMs, durationMs: Math.round(performance.now() - t0), ok: outcome.ok,
      ...(outcome.statusCode !== undefined ? { statusCode: outcome.statusCode } : {}),
      ...(outcome.error !== undefined ? { error: outcome.error } : {}),
    };
    const delayMs = this.#backoffMs(delivery.attempts);
    try {
      const after = await this.#engine.submit((tx) =>
        recordResult(tx, id, delivery.attempts, entry, outcome, delayMs, this.#maxAttempts, this.#maxLog));
      if (after?.status === "delivered") this.#counters.delivered += 1;
      else if (after) {
        this.#counters.failures += 1;
        if (after.status === "dead") this.#counters.deadLettered += 1;
      }
    } catch {
      // Engine closed or failed: the lease makes the next run retry this attempt.
    }
  }

  async #sendWebhook(d: DeliveryRecord, dest: WebhookDestination, event: EventRecord): Promise<Outcome> {
    let secret: WebhookSecret | undefined;
    try {
      secret = dest.secret ?? (dest.secretRef !== undefined ? this.#resolveSecret?.(dest.secretRef) : undefined);
    } catch {
      secret = undefined;
    }
    if (secret === undefined || (typeof secret !== "string" && !(secret instanceof Uint8Array) && !Array.isArray(secret))) {
      return { ok: false, error: "secret_unavailable" };
    }
    const body = webhookBody(event);
    const timestamp = String(this.#clock.nowMs());
    let signature: string;
    try {
      signature = signWebhook(secret, timestamp, body);
    } catch {
      return { ok: false, error: "secret_unavailable" };
    }
    const headers: Record<string, string> = {
      ...dest.headers,
      "Content-Type": "application/json",
      "User-Agent": this.#userAgent,
      [HEADER_EVENT_ID]: event.id,
      [HEADER_EVENT_TYPE]: event.type,
      [HEADER_DELIVERY_ID]: d.id,
      [HEADER_ATTEMPT]: String(d.attempts),
      [HEADER_TIMESTAMP]: timestamp,
      [HEADER_SIGNATURE]: signature,
    };
    const signal = AbortSignal.any([AbortSignal.timeout(this.#timeoutMs), this.#stopCtl.signal]);
    try {
      const res = await this.#fetch(dest.url, { method: "POST", headers, body, redirect: "manual", signal });
      try {
        await res.body?.cancel();
      } catch {
        // the response body is not needed
      }
      const ok = res.status >= 200 && res.status < 300;
      return ok ? { ok, statusCode: res.status } : { ok, statusCode: res.status, error: `http_${res.status}` };
    } catch (e) {
      if (this.#stopCtl.signal.aborted) return { ok: false, error: "interrupted", interrupted: true };
      return { ok: false, error: errorLabel(e) };
    }
  }

  async #sendTopic(d: DeliveryRecord, topic: string, event: EventRecord, subs: Sub[]): Promise<Outcome> {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.#timeoutMs);
    const signal = AbortSignal.any([timeout.signal, this.#stopCtl.signal]);
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<"aborted">((resolve) => {
      onAbort = () => resolve("aborted");
      if (signal.aborted) resolve("aborted");
      else signal.addEventListener("abort", onAbort, { once: true });
    });
    const ctx: SubscriberContext = { deliveryId: d.id, topic, attempt: d.attempts, signal };
    try {
      const all = Promise.all(subs.map((s) => Promise.resolve().then(() => s.fn(toEvent(event), ctx))));
      const r = await Promise.race([all, aborted]);
      if (r === "aborted") {
        all.catch(() => {});
        if (this.#stopCtl.signal.aborted) return { ok: false, error: "interrupted", interrupted: true };
        return { ok: false, error: "timeout" };
      }
      return { ok: true };
    } catch {
      return { ok: false, error: "subscriber_error" };
    } finally {
      clearTimeout(timer);
      if (onAbort) signal.removeEventListener("abort", onAbort);
    }
  }

  // --- in-process consumers -----------------------------------------------------------------

  #subscribersOf(topic: string): Sub[] {
    const out: Sub[] = [];
    for (const s of this.#subs) if (s.topics === undefined || s.topics.has(topic)) out.push(s);
    return out;
  }

  /**
   * Registers an in-process consumer for topic deliveries; returns the unsubscribe function.
   * Topic deliveries with no subscriber wait (without spending attempts) until one appears.
   */
  subscribe(fn: Subscriber, options: SubscribeOptions = {}): () => void {
    if (typeof fn !== "function") throw new AgentPayError("INVALID_INPUT", "subscribe takes a function", { field: "fn" });
    let topics: Set<string> | undefined;
    if (options.topics !== undefined) {
      if (!Array.isArray(options.topics) || options.topics.some((t) => typeof t !== "string")) {
        throw new AgentPayError("INVALID_INPUT", "topics must be an array of strings", { field: "topics" });
      }
      topics = new Set(options.topics);
    }
    const sub: Sub = { fn, topics };
    this.#subs.add(sub);
    for (const id of [...this.#parked]) {
      const d = this.#record(id);
      if (d?.destination.kind === "topic" && (topics === undefined || topics.has(d.destination.topic))) {
        this.#parked.delete(id);
        const t = this.#index.get(id);
        if (t !== undefined) this.#heap.push(t, id);
      }
    }
    this.#wake();
    return () => {
      this.#subs.delete(sub);
    };
  }

  /**
   * An async iterator over topic deliveries. An event counts as delivered once the loop
   * body that received it has finished (the next `next()` call, or leaving the loop);
   * an event offered but not taken before the attempt times out is offered again later.
   */
  events(options: SubscribeOptions = {}): AsyncIterableIterator<Event> {
    interface Offer {
      event: Event;
      ack: () => void;
      nack: (e: unknown) => void;
    }
    const offers: Offer[] = [];
    const takers: Array<(r: IteratorResult<Event>) => void> = [];
    let lastAck: (() => void) | undefined;
    let done = false;
    const unsubscribe = this.subscribe(
      (event, ctx) =>
        new Promise<void>((resolve, reject) => {
          if (done) return reject(new Error("iterator closed"));
          const offer: Offer = { event, ack: resolve, nack: reject };
          const taker = takers.shift();
          if (taker) {
            lastAck = offer.ack;
            taker({ value: event, done: false });
            return;
          }
          offers.push(offer);
          ctx.signal.addEventListener("abort", () => {
            const i = offers.indexOf(offer);
            if (i >= 0) offers.splice(i, 1);
            reject(new Error("not taken in time"));
          }, { once: true });
        }),
      options,
    );
    const finish = (): void => {
      if (done) return;
      done = true;
      unsubscribe();
      lastAck?.();
      lastAck = undefined;
      for (const o of offers.splice(0)) o.nack(new Error("iterator closed"));
      for (const t of takers.splice(0)) t({ value: undefined, done: true });
    };
    const it: AsyncIterableIterator<Event> = {
      next: () => {
        lastAck?.();
        lastAck = undefined;
        if (done) return Promise.resolve({ value: undefined, done: true });
        const offer = offers.shift();
        if (offer) {
          lastAck = offer.ack;
          return Promise.resolve({ value: offer.event, done: false });
        }
        return new Promise((resolve) => takers.push(resolve));
      },
      return: () => {
        finish();
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]() {
        return it;
      },
    };
    return it;
  }

  // --- queries and operations ----------------------------------------------------------------

  /** A stored event, as consumers receive it. */
  event(eventId: string): Event | undefined {
    const r = this.#engine.read<EventRecord>(eventKey(eventId));
    return r ? toEvent(r) : undefined;
  }

  /** The delivery log of one event: one entry per destination, with its attempts. Secrets left out. */
  deliveries(eventId: string): DeliveryView[] {
    const r = this.#engine.read<EventRecord>(eventKey(eventId));
    if (!r) return [];
    const out: DeliveryView[] = [];
    for (const id of r.deliveryIds) {
      const d = heldDelivery(r, id) ?? this.#engine.read<DeliveryRecord>(deliveryKey(id));
      if (d) out.push(deliveryView(d));
    }
    return out;
  }

  delivery(deliveryId: string): DeliveryView | undefined {
    const d = this.#record(deliveryId);
    return d ? deliveryView(d) : undefined;
  }

  /** Dead-lettered deliveries (at most `limit`, default 100). */
  deadLetters(limit = 100): DeliveryView[] {
    const out: DeliveryView[] = [];
    for (const id of this.#dead) {
      if (out.length >= limit) break;
      const d = this.#engine.read<DeliveryRecord>(deliveryKey(id));
      if (d) out.push(deliveryView(d));
    }
    return out;
  }

  /** Puts a dead-lettered delivery back in line with a fresh attempt budget (its log is kept). */
  async redeliver(deliveryId: string): Promise<DeliveryView> {
    if (typeof deliveryId !== "string") throw new AgentPayError("INVALID_INPUT", "deliveryId must be a string", { field: "deliveryId" });
    const d = await this.#engine.submit((tx) => {
      const cur = tx.get<DeliveryRecord>(deliveryKey(deliveryId));
      if (!cur && this.#held.has(deliveryId)) {
        throw new AgentPayError("DELIVERY_NOT_DEAD", "only a dead-lettered delivery can be redelivered", { deliveryId, status: "pending" });
      }
      if (!cur) throw new AgentPayError("DELIVERY_NOT_FOUND", "no such delivery", { deliveryId });
      if (cur.status !== "dead") throw new AgentPayError("DELIVERY_NOT_DEAD", "only a dead-lettered delivery can be redelivered", { deliveryId, status: cur.status });
      const { deadAtMs: _dead, ...rest } = cur;
      const next: DeliveryRecord = { ...rest, status: "pending", attempts: 0, nextAttemptAtMs: tx.nowMs, updatedAtMs: tx.nowMs };
      tx.put(deliveryKey(deliveryId), next);
      return next;
    });
    return deliveryView(d);
  }

  get stats(): DelivererStats {
    return {
      pending: this.#index.size,
      dead: this.#dead.size,
      inFlight: this.#running,
      queued: this.#queue.length,
      ...this.#counters,
    };
  }

  /**
   * Retention: deletes events older than `olderThanMs` whose deliveries are all finished
   * (delivered or dead), and gives up on in-process topic deliveries nobody consumed in that
   * time (in-process streams are live streams). Events with a webhook still retrying are kept.
   * Bounded per call; returns how many events were deleted.
   */
  prune(opts: { olderThanMs: number; limit?: number }): Promise<number> {
    let olderThanMs: number;
    let limit: number;
    try {
      if (opts === null || typeof opts !== "object") throw new AgentPayError("INVALID_INPUT", "options must be an object");
      if (opts.olderThanMs === undefined) throw new AgentPayError("INVALID_INPUT", "olderThanMs is required", { field: "olderThanMs" });
      olderThanMs = intOption(opts.olderThanMs, "olderThanMs", 0, 0, 10 * 366 * 86_400_000);
      limit = intOption(opts.limit, "limit", 1_000, 1, 10_000);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#engine.submit((tx) => {
      const cutoff = tx.nowMs - olderThanMs;
      const keep: Array<{ key: number; value: string }> = [];
      let n = 0;
      while (n < limit) {
        const top = this.#byAge.peek();
        if (!top || top.key > cutoff) break;
        this.#byAge.pop();
        const ev = tx.get<EventRecord>(eventKey(top.value));
        if (!ev) continue;
        const ds = ev.deliveryIds.map((id) => tx.get<DeliveryRecord>(deliveryKey(id)));
        const retrying = ds.some((d) => d && d.status === "pending" && d.destination.kind === "webhook");
        if (retrying) {
          keep.push({ key: tx.nowMs, value: top.value }); // look again later
          continue;
        }
        for (const id of ev.deliveryIds) if (tx.has(deliveryKey(id))) tx.del(deliveryKey(id));
        tx.del(eventKey(ev.id));
        n++;
      }
      for (const k of keep) this.#byAge.push(k.key, k.value);
      return n;
    });
  }
}
