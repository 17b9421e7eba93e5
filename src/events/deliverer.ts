// The deliverer: one public class composing the parts, each in its own file.
//   schedule.ts      when each pending delivery is due; the pump; concurrency; backoff
//   lease.ts         the engine commands of an attempt: claim (lease) and record the result
//   webhook.ts       HTTP webhook delivery (network.ts: which addresses; pinned-http.ts: the request;
//                    rate-limit.ts: per-destination rate and concurrency)
//   subscribers.ts   in-process topic consumers (subscribe, events())
//   dead-letters.ts  dead letters and redelivery
//   retention.ts     pruning old events
import { AgentPayError } from "../core/index.ts";
import type { Clock } from "../core/index.ts";
import type { Engine } from "../engine/index.ts";
import { DeadLetters } from "./dead-letters.ts";
import { LEASE_EXTRA_MS, attemptEntry, claim, recordResult } from "./lease.ts";
import type { Claimed, Outcome } from "./lease.ts";
import { readOptions } from "./options.ts";
import { DestinationLimiter } from "./rate-limit.ts";
import type { DelivererConfig, EventDelivererOptions } from "./options.ts";
import { deliveryView } from "./outbox.ts";
import { Retention } from "./retention.ts";
import { Scheduler, backoffMs } from "./schedule.ts";
import { TopicSubscribers, eventIterator, sendTopic, toEvent } from "./subscribers.ts";
import type { SubscribeOptions, Subscriber } from "./subscribers.ts";
import { DELIVERY_PREFIX, EVENT_PREFIX, deliveryKey, eventKey, heldDelivery } from "./types.ts";
import type { DeliveryRecord, DeliveryView, Event, EventRecord } from "./types.ts";
import { WebhookSender } from "./webhook.ts";

export interface DelivererStats {
  pending: number;
  dead: number;
  inFlight: number;
  queued: number;
  attempts: number;
  delivered: number;
  failures: number;
  deadLettered: number;
  /** Webhook deliveries waiting for their destination's rate or concurrency limit (no attempt spent). */
  throttled: number;
}

/**
 * Delivers the outbox at least once. Construct it BEFORE `engine.load()`: its observer
 * rebuilds the set of pending deliveries from the store, which is how delivery resumes
 * after a restart. `start()` begins sending; `stop()` interrupts what is in flight and waits.
 */
export class EventDeliverer {
  readonly #engine: Engine;
  readonly #clock: Clock;
  readonly #config: DelivererConfig;
  readonly #scheduler: Scheduler;
  readonly #webhooks: WebhookSender;
  readonly #limiter: DestinationLimiter;
  readonly #subscribers = new TopicSubscribers();
  readonly #dead: DeadLetters;
  readonly #retention: Retention;
  /** Topic deliveries held in their events (no record yet): delivery id → event id. */
  readonly #held = new Map<string, string>();
  #stopCtl = new AbortController();
  #counters = { attempts: 0, delivered: 0, failures: 0, deadLettered: 0 };

  constructor(engine: Engine, options: EventDelivererOptions = {}) {
    this.#config = readOptions(options);
    this.#engine = engine;
    this.#clock = engine.clock;
    const c = this.#config;
    this.#scheduler = new Scheduler({
      clock: this.#clock, concurrency: c.concurrency, maxQueue: c.maxQueue, pollMs: c.pollMs, run: (id) => this.#attempt(id),
      canRun: () => !engine.failed,
    });
    this.#webhooks = new WebhookSender({
      clock: this.#clock, fetch: c.customFetch ? c.fetch : undefined, resolveSecret: c.resolveSecret, timeoutMs: c.timeoutMs,
      userAgent: c.userAgent, policy: c.policy, lookup: c.lookup, ca: c.ca,
    });
    this.#limiter = new DestinationLimiter({
      clock: this.#clock, ratePerSecond: c.ratePerDestination, burst: c.burstPerDestination, concurrency: c.concurrencyPerDestination,
      maxDestinations: c.maxDestinations, pollMs: c.pollMs, onReady: (id) => this.#scheduler.unpark(id),
    });
    this.#dead = new DeadLetters(engine);
    this.#retention = new Retention(engine);
    engine.observe(DELIVERY_PREFIX, (key, _before, after) => this.#observe(key.slice(DELIVERY_PREFIX.length), after as DeliveryRecord | undefined));
    engine.observe(EVENT_PREFIX, (_key, before, after) => {
      if (after && !before) this.#retention.track(after as EventRecord);
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
      this.#dead.mark(id, false);
      this.#scheduler.set(id, d.nextAttemptAtMs);
      return;
    }
    this.#scheduler.delete(id);
    this.#limiter.forget(id);
    this.#dead.mark(id, d?.status === "dead");
  }

  // --- lifecycle ------------------------------------------------------------------------------

  /** Starts delivering (after `engine.load()`). Idempotent. */
  start(): void {
    if (this.#scheduler.started) return;
    this.#stopCtl = new AbortController();
    this.#scheduler.start();
  }

  /** Stops: no new attempts; attempts in flight are aborted (and rescheduled); resolves when they have ended. */
  async stop(): Promise<void> {
    const ended = this.#scheduler.stop();
    this.#stopCtl.abort();
    // Deliveries parked for their destination's turn go back in line for the next start.
    for (const id of this.#limiter.reset()) this.#scheduler.unpark(id);
    await ended;
  }

  get started(): boolean {
    return this.#scheduler.started;
  }

  // --- one attempt ---------------------------------------------------------------------------

  async #attempt(id: string): Promise<void> {
    const current = this.#record(id);
    if (!current || current.status !== "pending") return;
    if (current.destination.kind === "topic") {
      const subs = this.#subscribers.of(current.destination.topic);
      if (subs.length === 0) {
        this.#scheduler.park(id); // not an attempt: waits for a subscriber
        return;
      }
      return this.#attemptNow(id, subs);
    }
    const origin = new URL(current.destination.url).origin;
    if (!this.#limiter.acquire(id, origin)) {
      this.#scheduler.park(id); // not an attempt: waits for its destination's turn
      return;
    }
    try {
      return await this.#attemptNow(id, []);
    } finally {
      this.#limiter.release(id);
    }
  }

  async #attemptNow(id: string, subs: readonly Subscriber[]): Promise<void> {
    const c = this.#config;
    let claimed: Claimed | undefined;
    try {
      // Also orders us after the batch that created the delivery: we never send an event
      // before the state change it reports is durable.
      claimed = await this.#engine.submit((tx) => claim(tx, id, c.timeoutMs + LEASE_EXTRA_MS, this.#held.get(id)));
    } catch (e) {
      // Back off from an engine that is already full, rather than retrying at once.
      if (e instanceof AgentPayError && e.code === "ENGINE_OVERLOADED") this.#scheduler.defer(id, this.#clock.nowMs() + c.baseDelayMs);
      return;
    }
    if (!claimed) return;
    const { delivery, event } = claimed;
    this.#counters.attempts += 1;
    const atMs = this.#clock.nowMs();
    const t0 = performance.now();
    const stop = this.#stopCtl.signal;
    let outcome: Outcome;
    if (!event) outcome = { ok: false, error: "event_missing" };
    else if (delivery.destination.kind === "webhook") outcome = await this.#webhooks.send(delivery, delivery.destination, event, stop);
    else outcome = await sendTopic(delivery, delivery.destination.topic, event, subs, c.timeoutMs, stop);
    const entry = attemptEntry(delivery.attempts, atMs, Math.round(performance.now() - t0), outcome);
    const delayMs = backoffMs(delivery.attempts, c.baseDelayMs, c.maxDelayMs, c.random);
    try {
      const after = await this.#engine.submit((tx) =>
        recordResult(tx, id, delivery.attempts, entry, outcome, delayMs, c.maxAttempts, c.maxLog));
      if (after?.status === "delivered") this.#counters.delivered += 1;
      else if (after) {
        this.#counters.failures += 1;
        if (after.status === "dead") this.#counters.deadLettered += 1;
      }
    } catch {
      // Engine closed or failed: the lease makes the next run retry this attempt.
    }
  }

  // --- in-process consumers -----------------------------------------------------------------

  /**
   * Registers an in-process consumer for topic deliveries; returns the unsubscribe function.
   * Topic deliveries with no subscriber wait (without spending attempts) until one appears.
   */
  subscribe(fn: Subscriber, options: SubscribeOptions = {}): () => void {
    const { topics, remove } = this.#subscribers.add(fn, options);
    for (const id of [...this.#scheduler.parked()]) {
      const d = this.#record(id);
      if (d?.destination.kind === "topic" && (topics === undefined || topics.has(d.destination.topic))) this.#scheduler.unpark(id);
    }
    this.#scheduler.wake();
    return remove;
  }

  /**
   * An async iterator over topic deliveries. An event counts as delivered once the loop
   * body that received it has finished (the next `next()` call, or leaving the loop);
   * an event offered but not taken before the attempt times out is offered again later.
   */
  events(options: SubscribeOptions = {}): AsyncIterableIterator<Event> {
    return eventIterator((fn, o) => this.subscribe(fn, o), options);
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
    return this.#dead.list(limit);
  }

  /** Puts a dead-lettered delivery back in line with a fresh attempt budget (its log is kept). */
  redeliver(deliveryId: string): Promise<DeliveryView> {
    return this.#dead.redeliver(deliveryId, (id) => this.#held.has(id));
  }

  get stats(): DelivererStats {
    return {
      pending: this.#scheduler.pending,
      dead: this.#dead.size,
      inFlight: this.#scheduler.inFlight,
      queued: this.#scheduler.queued,
      ...this.#counters,
      throttled: this.#limiter.waiting,
    };
  }

  /**
   * Retention: deletes events older than `olderThanMs` whose deliveries are all finished
   * (delivered or dead), and gives up on in-process topic deliveries nobody consumed in that
   * time (in-process streams are live streams). Events with a webhook still retrying are kept.
   * Bounded per call; returns how many events were deleted.
   */
  prune(opts: { olderThanMs: number; limit?: number }): Promise<number> {
    return this.#retention.prune(opts);
  }
}
