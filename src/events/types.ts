/** Key prefixes of the records this module keeps in the engine. */
export const EVENT_PREFIX = "ev/";
export const DELIVERY_PREFIX = "dl/";

export const eventKey = (eventId: string): string => `${EVENT_PREFIX}${eventId}`;
export const deliveryKey = (deliveryId: string): string => `${DELIVERY_PREFIX}${deliveryId}`;

/** Header names on every webhook request. */
export const HEADER_EVENT_ID = "AgentPay-Event-Id";
export const HEADER_EVENT_TYPE = "AgentPay-Event-Type";
export const HEADER_DELIVERY_ID = "AgentPay-Delivery-Id";
export const HEADER_ATTEMPT = "AgentPay-Attempt";
export const HEADER_TIMESTAMP = "AgentPay-Timestamp";
export const HEADER_SIGNATURE = "AgentPay-Signature";
/** Headers the payment flow adds to merchant callbacks (see `agentInitiatedHeaders`). */
export const HEADER_INITIATOR = "AgentPay-Initiator";
export const HEADER_AGENT_ID = "AgentPay-Agent-Id";
export const HEADER_GRANT_ID = "AgentPay-Grant-Id";

/** Event types the library emits. Other lower-case dotted names are accepted too. */
export const EventTypes = [
  "payment.authorized",
  "payment.captured",
  "payment.voided",
  "payment.refunded",
  "payment.declined",
  "refund.requested",
  "refund.declined",
  "approval.requested",
  "approval.resolved",
  "grant.expiring",
  "notification",
] as const;
export type EventType = (typeof EventTypes)[number] | (string & {});

/** JSON values, with bigint allowed (stored losslessly; sent on the wire as decimal strings). */
export type EventData =
  | null
  | boolean
  | number
  | string
  | bigint
  | readonly EventData[]
  | { readonly [key: string]: EventData | undefined };

/**
 * An HTTP webhook. Signed with `secret`, or with the secret(s) that the deliverer's
 * `resolveSecret(secretRef)` returns at delivery time (preferred: the secret then lives
 * in one place, e.g. the merchant record, and can rotate). Exactly one of the two.
 * `headers` are sent as given but are NOT covered by the signature: put anything the
 * receiver must trust into the event itself (subject, data).
 */
export interface WebhookDestination {
  kind: "webhook";
  url: string;
  secretRef?: string;
  secret?: string;
  headers?: Readonly<Record<string, string>>;
}

/** An in-process topic: delivered to `subscribe` / `events()` consumers of that topic. */
export interface TopicDestination {
  kind: "topic";
  topic: string;
}

export type Destination = WebhookDestination | TopicDestination;

export interface EventInput {
  type: EventType;
  /** Ids the event is about: `{ paymentId, subWalletId, agentId, grantId, merchantId, … }`. */
  subject?: Readonly<Record<string, string>>;
  data?: EventData;
  destinations: readonly Destination[];
}

/** The stored event (`ev/<id>`). Its content never changes once written. */
export interface EventRecord {
  id: string;
  type: string;
  createdAtMs: number;
  subject: Record<string, string>;
  data: EventData;
  /** Every destination's delivery id, in destination order. */
  deliveryIds: string[];
  /**
   * Topic deliveries not written as `dl/` records yet: each waits here, pending with no attempt
   * spent, until its first attempt writes its record (and removes it from this list). Most events
   * of an in-process topic are never consumed, so this saves a record per topic per event.
   */
  topics?: TopicDeliveryRef[];
}

export interface TopicDeliveryRef {
  id: string;
  topic: string;
}

/** Delivery `id` if it is still held in `ev`, as the record its first attempt will write. */
export function heldDelivery(ev: EventRecord, id: string): DeliveryRecord | undefined {
  const ref = ev.topics?.find((t) => t.id === id);
  if (!ref) return undefined;
  return {
    id: ref.id, eventId: ev.id, destination: { kind: "topic", topic: ref.topic }, status: "pending", attempts: 0,
    nextAttemptAtMs: ev.createdAtMs, createdAtMs: ev.createdAtMs, updatedAtMs: ev.createdAtMs, log: [],
  };
}

/** What consumers receive, in-process and (JSON-encoded) as a webhook body. */
export interface Event {
  id: string;
  type: string;
  createdAtMs: number;
  subject: Record<string, string>;
  data: EventData;
}

export type DeliveryStatus = "pending" | "delivered" | "dead";

export interface DeliveryAttempt {
  attempt: number;
  atMs: number;
  durationMs: number;
  ok: boolean;
  /** HTTP status of a webhook response. */
  statusCode?: number;
  /**
   * A short error label (never a secret, never a URL): "http_500", "timeout", "ECONNREFUSED", "ENOTFOUND",
   * "destination_refused" (the address policy refused the destination: dead-lettered at once), …
   */
  error?: string;
  /** A webhook's IP address: the one the request went to, or the one refused. */
  address?: string;
}

/** The stored per-destination delivery (`dl/<id>`). */
export interface DeliveryRecord {
  id: string;
  eventId: string;
  destination: Destination;
  status: DeliveryStatus;
  /** Attempts started so far (an attempt is counted before it is made). */
  attempts: number;
  nextAttemptAtMs: number;
  createdAtMs: number;
  updatedAtMs: number;
  deliveredAtMs?: number;
  deadAtMs?: number;
  /** The most recent attempts, oldest first (bounded). */
  log: DeliveryAttempt[];
}

/** A delivery as reported to callers: the destination's secret is replaced by `hasSecret`. */
export interface DeliveryView extends Omit<DeliveryRecord, "destination"> {
  destination:
    | { kind: "webhook"; url: string; secretRef?: string; hasSecret: boolean; headers?: Readonly<Record<string, string>> }
    | TopicDestination;
}
