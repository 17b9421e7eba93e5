// In-process consumers of topic deliveries: subscribe(), the events() iterator, and one attempt
// at handing an event to every subscriber of its topic.
import { AgentPayError } from "../core/index.ts";
import type { Outcome } from "./lease.ts";
import type { DeliveryRecord, Event, EventRecord } from "./types.ts";

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

interface Sub {
  fn: Subscriber;
  topics: ReadonlySet<string> | undefined;
}

/** An event as consumers receive it: a copy, so no consumer can change the stored one. */
export function toEvent(r: EventRecord): Event {
  return structuredClone({ id: r.id, type: r.type, createdAtMs: r.createdAtMs, subject: r.subject, data: r.data });
}

/** The registered subscribers. */
export class TopicSubscribers {
  readonly #subs = new Set<Sub>();

  /** Validates and registers `fn`; returns the topics it takes (undefined: all) and its removal. */
  add(fn: Subscriber, options: SubscribeOptions): { topics: ReadonlySet<string> | undefined; remove: () => void } {
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
    return { topics, remove: () => void this.#subs.delete(sub) };
  }

  of(topic: string): Subscriber[] {
    const out: Subscriber[] = [];
    for (const s of this.#subs) if (s.topics === undefined || s.topics.has(topic)) out.push(s.fn);
    return out;
  }
}

/**
 * One attempt: every subscriber of the topic gets the event; all must acknowledge within `timeoutMs`.
 * `stop` aborted means the deliverer is stopping (the attempt is interrupted, not failed).
 */
export async function sendTopic(
  d: DeliveryRecord, topic: string, event: EventRecord, subs: readonly Subscriber[], timeoutMs: number, stop: AbortSignal,
): Promise<Outcome> {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), timeoutMs);
  const signal = AbortSignal.any([timeout.signal, stop]);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<"aborted">((resolve) => {
    onAbort = () => resolve("aborted");
    if (signal.aborted) resolve("aborted");
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  const ctx: SubscriberContext = { deliveryId: d.id, topic, attempt: d.attempts, signal };
  try {
    const all = Promise.all(subs.map((fn) => Promise.resolve().then(() => fn(toEvent(event), ctx))));
    const r = await Promise.race([all, aborted]);
    if (r === "aborted") {
      all.catch(() => {});
      if (stop.aborted) return { ok: false, error: "interrupted", interrupted: true };
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

/**
 * An async iterator over topic deliveries, built on `subscribe`. An event counts as delivered
 * once the loop body that received it has finished (the next `next()` call, or leaving the
 * loop); an event offered but not taken before the attempt times out is offered again later.
 */
export function eventIterator(
  subscribe: (fn: Subscriber, options: SubscribeOptions) => () => void, options: SubscribeOptions,
): AsyncIterableIterator<Event> {
  interface Offer {
    event: Event;
    ack: () => void;
    nack: (e: unknown) => void;
  }
  const offers: Offer[] = [];
  const takers: Array<(r: IteratorResult<Event>) => void> = [];
  let lastAck: (() => void) | undefined;
  let done = false;
  const unsubscribe = subscribe(
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
