/**
 * Events: the outbox, its deliverer, webhook signatures and the person's notification rules.
 *
 * Delivery guarantees
 * - Nothing lost, nothing invented: `appendEvent(tx, …)` runs inside the caller's engine
 *   command, so the event (`ev/<id>`) and one delivery per destination commit in the same
 *   atomic batch as the state change they report, or not at all. A webhook delivery is a
 *   record (`dl/<id>`) from the start; a topic delivery waits inside its event until its
 *   first attempt writes its record (most in-process events are never consumed).
 * - Never early: an attempt first runs an engine command that counts it; the engine writes
 *   batches in order, so no event is sent before the batch that created it is durable.
 * - At least once, not exactly once: a delivery is retried until a webhook answers 2xx
 *   (redirects are not followed) or every in-process subscriber of its topic returns
 *   without throwing. A crash between sending and recording the result means the same
 *   event is sent again, so receivers de-duplicate by `AgentPay-Event-Id` (or the event's
 *   `id`). No ordering between events or deliveries is promised.
 * - Retries back off exponentially with full jitter (uniform in [0, min(cap, base·2^(n-1)))),
 *   each attempt bounded by a timeout; after `maxAttempts` failed attempts a delivery is
 *   dead-lettered (`deadLetters()`, `redeliver(id)`). An attempt cut short by `stop()` is
 *   rescheduled and never dead-letters a delivery.
 * - Survives restarts: delivery state (attempt count, next attempt time, status, the
 *   attempt log) is written through engine commands; the deliverer's observer reloads the
 *   pending deliveries at `engine.load()`. An attempt interrupted by a crash is retried once
 *   its lease (timeout + 1 s) has passed.
 * - Webhooks are POSTed as JSON (bigints as decimal strings) and signed with HMAC-SHA256
 *   over `${AgentPay-Timestamp}.${body}` (`AgentPay-Signature: v1=<hex>`, several during a
 *   secret rotation); receivers check with `verifyWebhookSignature`. Extra destination
 *   headers (e.g. `agentInitiatedHeaders`) are not signed: the signed body's `subject`
 *   carries the same facts. Secrets never appear in records returned to callers, in the
 *   attempt log or in errors.
 * - Topic deliveries with no subscriber wait, without spending attempts, until one
 *   subscribes. The in-memory work queue and concurrency are bounded; what does not fit
 *   waits in the store.
 * - Webhook destinations are checked against the address policy (SSRF): the host is resolved
 *   once per attempt, the attempt is refused if ANY address is private, loopback, link-local,
 *   unique-local, multicast, unspecified, CGNAT or otherwise special (IPv4 and IPv6, IPv4
 *   embedded in IPv6 included), and the request goes to a checked address ("pinned") with the
 *   URL's name as Host header and TLS server name. A refused delivery is dead-lettered at once
 *   (`destination_refused`). `allowPrivateNetworks` / `allowedNetworks` relax the policy.
 * - Per destination (scheme, host, port): a token bucket and a cap on requests in flight, so one
 *   slow or hostile endpoint cannot take every slot; a delivery waiting for its turn spends no
 *   attempt. docs/WEBHOOKS.md is the receiver's and the operator's contract.
 */
export { appendEvent, deliveryView, validateDestination, validateEventInput, MAX_DESTINATIONS, MAX_EVENT_DATA_BYTES } from "./outbox.ts";
export type { ValidEventInput } from "./outbox.ts";
export { EventDeliverer } from "./deliverer.ts";
export type { DelivererStats } from "./deliverer.ts";
export type { EventDelivererOptions } from "./options.ts";
export type { SubscribeOptions, Subscriber, SubscriberContext } from "./subscribers.ts";
export { webhookBody } from "./webhook.ts";
export { WebhookAddressPolicy } from "./network.ts";
export type { HostLookup, ResolvedAddress, WebhookAddressPolicyOptions } from "./network.ts";
export { signWebhook, verifyWebhookSignature } from "./signature.ts";
export type { VerifyWebhookOptions, WebhookSecret } from "./signature.ts";
export {
  notificationsFor, validateNotificationRules, NOTIFICATIONS_TOPIC, MAX_NOTIFICATION_RULES,
} from "./notifications.ts";
export type { BudgetUsage, NotificationFact, NotificationRule, NotificationWhen } from "./notifications.ts";
export {
  DELIVERY_PREFIX, EVENT_PREFIX, EventTypes, HEADER_AGENT_ID, HEADER_ATTEMPT, HEADER_DELIVERY_ID, HEADER_EVENT_ID,
  HEADER_EVENT_TYPE, HEADER_GRANT_ID, HEADER_INITIATOR, HEADER_SIGNATURE, HEADER_TIMESTAMP, deliveryKey, eventKey,
} from "./types.ts";
export type {
  DeliveryAttempt, DeliveryRecord, DeliveryStatus, DeliveryView, Destination, Event, EventData, EventInput, EventRecord,
  EventType, TopicDestination, WebhookDestination,
} from "./types.ts";
export { agentInitiatedHeaders } from "./headers.ts";
