import { AgentPayError, encodeJson, newId } from "../core/index.ts";
import type { Tx } from "../engine/index.ts";
import { deliveryKey, eventKey } from "./types.ts";
import type {
  DeliveryRecord, DeliveryView, Destination, EventData, EventInput, EventRecord, TopicDeliveryRef, WebhookDestination,
} from "./types.ts";

export const MAX_DESTINATIONS = 16;
export const MAX_SUBJECT_KEYS = 16;
export const MAX_HEADERS = 32;
export const MAX_EVENT_DATA_BYTES = 64 * 1024;
const MAX_URL_LENGTH = 2_048;
const MAX_HEADER_VALUE = 1_024;
const MAX_SECRET_LENGTH = 1_024;

const TYPE_RE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){0,4}$/;
const SUBJECT_KEY_RE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const NAME_RE = /^[A-Za-z0-9._:~\-/]{1,128}$/; // topics and secret refs
const HEADER_NAME_RE = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/; // RFC 9110 token
const HEADER_VALUE_RE = /^[\t\x20-\x7e]*$/; // no CR/LF, no control characters
/** Headers the deliverer sets itself; a destination cannot override them. */
const RESERVED_HEADERS = new Set([
  "agentpay-event-id", "agentpay-event-type", "agentpay-delivery-id", "agentpay-attempt", "agentpay-timestamp",
  "agentpay-signature", "content-type", "content-length", "host", "transfer-encoding", "connection",
]);

function bad(message: string, field: string): AgentPayError {
  return new AgentPayError("INVALID_INPUT", message, { field });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * Validates one destination and returns a clean copy (unknown fields dropped).
 * Error details name the field, never the secret.
 */
export function validateDestination(input: unknown, field = "destination"): Destination {
  if (!isPlainObject(input)) throw bad(`${field} must be an object`, field);
  if (input.kind === "topic") {
    if (typeof input.topic !== "string" || !NAME_RE.test(input.topic)) {
      throw bad(`${field}.topic must be 1-128 characters of A-Z a-z 0-9 . _ : ~ - /`, `${field}.topic`);
    }
    return { kind: "topic", topic: input.topic };
  }
  if (input.kind !== "webhook") throw bad(`${field}.kind must be "webhook" or "topic"`, `${field}.kind`);
  const url = input.url;
  if (typeof url !== "string" || url.length > MAX_URL_LENGTH || !URL.canParse(url)) {
    throw bad(`${field}.url must be an absolute http(s) URL`, `${field}.url`);
  }
  const parsed = new URL(url);
  if ((parsed.protocol !== "https:" && parsed.protocol !== "http:") || parsed.username !== "" || parsed.password !== "") {
    throw bad(`${field}.url must be an http(s) URL without credentials`, `${field}.url`);
  }
  const out: WebhookDestination = { kind: "webhook", url: parsed.href };
  const hasRef = input.secretRef !== undefined;
  const hasSecret = input.secret !== undefined;
  if (hasRef === hasSecret) throw bad(`${field} needs exactly one of secret or secretRef`, `${field}.secret`);
  if (hasRef) {
    if (typeof input.secretRef !== "string" || !NAME_RE.test(input.secretRef)) {
      throw bad(`${field}.secretRef must be 1-128 characters of A-Z a-z 0-9 . _ : ~ - /`, `${field}.secretRef`);
    }
    out.secretRef = input.secretRef;
  } else {
    if (typeof input.secret !== "string" || input.secret.length < 16 || input.secret.length > MAX_SECRET_LENGTH) {
      throw bad(`${field}.secret must be a string of 16-1024 characters`, `${field}.secret`);
    }
    out.secret = input.secret;
  }
  if (input.headers !== undefined) {
    if (!isPlainObject(input.headers)) throw bad(`${field}.headers must be an object`, `${field}.headers`);
    const entries = Object.entries(input.headers);
    if (entries.length > MAX_HEADERS) throw bad(`${field}.headers: at most ${MAX_HEADERS}`, `${field}.headers`);
    const headers: Record<string, string> = {};
    const seen = new Set<string>();
    for (const [name, value] of entries) {
      const lower = name.toLowerCase();
      if (!HEADER_NAME_RE.test(name) || RESERVED_HEADERS.has(lower) || seen.has(lower)) {
        throw bad(`${field}.headers: invalid, reserved or repeated header name`, `${field}.headers`);
      }
      if (typeof value !== "string" || value.length > MAX_HEADER_VALUE || !HEADER_VALUE_RE.test(value)) {
        throw bad(`${field}.headers: values must be printable strings of at most ${MAX_HEADER_VALUE} characters`, `${field}.headers`);
      }
      seen.add(lower);
      headers[name] = value;
    }
    out.headers = headers;
  }
  return out;
}

/**
 * Checks that `data` is JSON (plus bigint) without cycles; returns its encoded size (or, when that
 * is surely under the limit, an upper bound of it). The walk
 * adds up an upper bound of the size (every character escaped); only data that could be over
 * the limit is encoded to measure it exactly, so the usual small event is not encoded twice.
 */
function checkData(data: unknown): number {
  const seen = new Set<object>();
  let bound = 4;
  const walk = (v: unknown, depth: number): void => {
    if (depth > 32) throw bad("event data is nested too deeply", "data");
    switch (typeof v) {
      case "string": bound += 6 * v.length + 3; return;
      case "bigint": bound += v.toString().length + 12; return;
      case "boolean": case "undefined": bound += 6; return;
      case "number": if (!Number.isFinite(v)) throw bad("event data numbers must be finite", "data"); bound += 25; return;
      case "object": break;
      default: throw bad("event data must be JSON (bigint allowed)", "data");
    }
    if (v === null) return;
    if (seen.has(v)) throw bad("event data must not contain cycles", "data");
    seen.add(v);
    if (Array.isArray(v)) for (const x of v) walk(x, depth + 1);
    else {
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) throw bad("event data must be plain objects and arrays", "data");
      for (const [k, x] of Object.entries(v)) {
        bound += 6 * k.length + 5;
        walk(x, depth + 1);
      }
    }
    bound += 2;
    seen.delete(v);
  };
  walk(data, 0);
  return bound <= MAX_EVENT_DATA_BYTES ? bound : encodeJson(data ?? null).length;
}

export interface ValidEventInput {
  type: string;
  subject: Record<string, string>;
  data: EventData;
  destinations: Destination[];
}

/** Validates an event input and returns a clean copy. Pure; throws INVALID_INPUT. */
export function validateEventInput(input: unknown): ValidEventInput {
  if (!isPlainObject(input)) throw bad("event must be an object", "event");
  if (typeof input.type !== "string" || !TYPE_RE.test(input.type) || input.type.length > 64) {
    throw bad("event type must be a lower-case dotted name such as payment.captured", "type");
  }
  const subject: Record<string, string> = {};
  if (input.subject !== undefined) {
    if (!isPlainObject(input.subject)) throw bad("subject must be an object of ids", "subject");
    const entries = Object.entries(input.subject);
    if (entries.length > MAX_SUBJECT_KEYS) throw bad(`subject: at most ${MAX_SUBJECT_KEYS} ids`, "subject");
    for (const [k, v] of entries) {
      if (!SUBJECT_KEY_RE.test(k) || typeof v !== "string" || v.length === 0 || v.length > 128) {
        throw bad("subject must map names to ids (strings of 1-128 characters)", "subject");
      }
      subject[k] = v;
    }
  }
  if (checkData(input.data) > MAX_EVENT_DATA_BYTES) throw bad(`event data exceeds ${MAX_EVENT_DATA_BYTES} bytes`, "data");
  if (!Array.isArray(input.destinations) || input.destinations.length > MAX_DESTINATIONS) {
    throw bad(`destinations must be an array of at most ${MAX_DESTINATIONS}`, "destinations");
  }
  const destinations = input.destinations.map((d, i) => validateDestination(d, `destinations[${i}]`));
  return { type: input.type, subject, data: (input.data ?? null) as EventData, destinations };
}

/**
 * Appends an event to the outbox: call it INSIDE your own engine command, so the event
 * and its per-destination deliveries commit in the same atomic batch as the state change
 * they report (or not at all, if the command throws). Pure and synchronous: it only
 * validates and writes `ev/<id>` and one `dl/<id>` per webhook; topic deliveries wait inside
 * the event until their first attempt. An event without
 * destinations is recorded but delivered nowhere. Throws INVALID_INPUT on bad input,
 * which aborts the enclosing command.
 */
export function appendEvent(tx: Tx, input: EventInput): EventRecord {
  const v = validateEventInput(input);
  const id = newId("evt");
  const deliveryIds: string[] = [];
  const topics: TopicDeliveryRef[] = [];
  for (const destination of v.destinations) {
    if (destination.kind === "topic") {
      // Held in the event until its first attempt (see EventRecord.topics).
      const ref = { id: newId("dlv"), topic: destination.topic };
      topics.push(ref);
      deliveryIds.push(ref.id);
      continue;
    }
    const d: DeliveryRecord = {
      id: newId("dlv"),
      eventId: id,
      destination,
      status: "pending",
      attempts: 0,
      nextAttemptAtMs: tx.nowMs,
      createdAtMs: tx.nowMs,
      updatedAtMs: tx.nowMs,
      log: [],
    };
    tx.put(deliveryKey(d.id), d);
    deliveryIds.push(d.id);
  }
  const event: EventRecord = {
    id, type: v.type, createdAtMs: tx.nowMs, subject: v.subject, data: v.data, deliveryIds, ...(topics.length > 0 ? { topics } : {}),
  };
  tx.put(eventKey(id), event);
  return event;
}

/** A delivery without its secret, for reports and APIs. */
export function deliveryView(d: DeliveryRecord): DeliveryView {
  const { destination, ...rest } = d;
  if (destination.kind === "topic") return { ...rest, destination: { kind: "topic", topic: destination.topic } };
  return {
    ...rest,
    log: rest.log.map((a) => ({ ...a })),
    destination: {
      kind: "webhook",
      url: destination.url,
      ...(destination.secretRef !== undefined ? { secretRef: destination.secretRef } : {}),
      hasSecret: destination.secret !== undefined,
      ...(destination.headers !== undefined ? { headers: { ...destination.headers } } : {}),
    },
  };
}
