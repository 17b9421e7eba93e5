// The two engine commands around every attempt: claim (count it and lease the delivery before
// anything is sent) and record (log the outcome; delivered, dead, or due again after a backoff).
import type { Tx } from "../engine/index.ts";
import { deliveryKey, eventKey, heldDelivery } from "./types.ts";
import type { DeliveryAttempt, DeliveryRecord, EventRecord } from "./types.ts";

/** A lease outlasts the attempt's timeout by this much, so a live attempt is never taken twice. */
export const LEASE_EXTRA_MS = 1_000;

/** What one attempt came to. */
export interface Outcome {
  ok: boolean;
  statusCode?: number;
  error?: string;
  /** The address a webhook was sent to (or refused). */
  address?: string;
  /** Cut short by `stop()`: rescheduled, never dead-lettered for it. */
  interrupted?: boolean;
  /** Retrying cannot help (a destination the address policy refuses): dead-lettered at once. */
  permanent?: boolean;
}

export interface Claimed {
  delivery: DeliveryRecord;
  event: EventRecord | undefined;
}

/**
 * Counts the attempt before it is made, and leases the delivery so a crash mid-attempt retries it later.
 * A topic delivery still held in its event (`eventId` given) gets its record here, leaving the event's list.
 */
export function claim(tx: Tx, id: string, leaseMs: number, eventId?: string): Claimed | undefined {
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

/** The attempt log entry for an outcome. */
export function attemptEntry(attempt: number, atMs: number, durationMs: number, outcome: Outcome): DeliveryAttempt {
  return {
    attempt, atMs, durationMs, ok: outcome.ok,
    ...(outcome.statusCode !== undefined ? { statusCode: outcome.statusCode } : {}),
    ...(outcome.error !== undefined ? { error: outcome.error } : {}),
    ...(outcome.address !== undefined ? { address: outcome.address } : {}),
  };
}

export function recordResult(
  tx: Tx, id: string, attempt: number, entry: DeliveryAttempt, outcome: Outcome, delayMs: number, maxAttempts: number, maxLog: number,
): DeliveryRecord | undefined {
  const d = tx.get<DeliveryRecord>(deliveryKey(id));
  if (!d || d.status !== "pending" || d.attempts !== attempt) return undefined; // superseded
  const log = [...d.log, entry].slice(-maxLog);
  let next: DeliveryRecord;
  if (outcome.ok) {
    next = { ...d, status: "delivered", deliveredAtMs: tx.nowMs, updatedAtMs: tx.nowMs, log };
  } else if (!outcome.interrupted && (outcome.permanent === true || attempt >= maxAttempts)) {
    next = { ...d, status: "dead", deadAtMs: tx.nowMs, updatedAtMs: tx.nowMs, log };
  } else {
    next = { ...d, nextAttemptAtMs: tx.nowMs + delayMs, updatedAtMs: tx.nowMs, log };
  }
  tx.put(deliveryKey(id), next);
  return next;
}
