import { createHmac, timingSafeEqual } from "node:crypto";
import { AgentPayError } from "../core/index.ts";

/** A signing secret: one, or several while a secret is being rotated (each produces a `v1=`). */
export type WebhookSecret = string | Uint8Array | readonly (string | Uint8Array)[];

const MAX_SIGNATURE_HEADER = 4_096;
const MAX_SIGNATURES = 8;
const TIMESTAMP_RE = /^\d{1,16}$/;

function secretsOf(secret: WebhookSecret): (string | Uint8Array)[] {
  const one = (s: unknown): s is string | Uint8Array => typeof s === "string" || s instanceof Uint8Array;
  const list: unknown[] = one(secret) ? [secret] : Array.isArray(secret) ? [...secret] : [];
  if (list.length === 0 || list.length > MAX_SIGNATURES || list.some((s) => !one(s) || s.length === 0)) {
    throw new AgentPayError("INVALID_INPUT", "a webhook secret must be a non-empty string or bytes (at most 8 during rotation)", { field: "secret" });
  }
  return list as (string | Uint8Array)[];
}

function hmacHex(secret: string | Uint8Array, timestamp: string, body: string | Uint8Array): string {
  const h = createHmac("sha256", secret);
  h.update(`${timestamp}.`);
  h.update(body);
  return h.digest("hex");
}

/**
 * The `AgentPay-Signature` header value: `v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`,
 * comma-separated when signing with several secrets. `timestamp` is Unix milliseconds,
 * exactly as sent in `AgentPay-Timestamp`.
 */
export function signWebhook(secret: WebhookSecret, timestamp: string | number, body: string | Uint8Array): string {
  const ts = String(timestamp);
  return secretsOf(secret).map((s) => `v1=${hmacHex(s, ts, body)}`).join(",");
}

export interface VerifyWebhookOptions {
  /** How far the timestamp may be from now, either way: 0 to 24 hours. Default 5 minutes. */
  toleranceMs?: number;
  /** Now, in Unix milliseconds (a finite, non-negative number). Default Date.now(). */
  nowMs?: number;
}

const MAX_TOLERANCE_MS = 86_400_000;
/** The last millisecond a Date can hold. */
const MAX_TIME_MS = 8.64e15;

/**
 * Every option checked: a nowMs of NaN or a string would make any timestamp "within tolerance"
 * (NaN compares false), switching replay protection off.
 */
function checkOptions(options: unknown): { toleranceMs: number; nowMs: number } {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new AgentPayError("INVALID_INPUT", "options must be an object", { field: "options" });
  }
  for (const k of Object.keys(options)) {
    if (k !== "toleranceMs" && k !== "nowMs") throw new AgentPayError("INVALID_INPUT", "options has an unknown member", { field: k.slice(0, 64) });
  }
  const o = options as { toleranceMs?: unknown; nowMs?: unknown };
  const toleranceMs = "toleranceMs" in o ? o.toleranceMs : 300_000;
  const nowMs = "nowMs" in o ? o.nowMs : Date.now();
  if (typeof toleranceMs !== "number" || !Number.isFinite(toleranceMs) || toleranceMs < 0 || toleranceMs > MAX_TOLERANCE_MS) {
    throw new AgentPayError("INVALID_INPUT", "toleranceMs must be a number of milliseconds from 0 to 24 hours", { field: "toleranceMs" });
  }
  if (typeof nowMs !== "number" || !Number.isFinite(nowMs) || nowMs < 0 || nowMs > MAX_TIME_MS) {
    throw new AgentPayError("INVALID_INPUT", "nowMs must be a time in Unix milliseconds", { field: "nowMs" });
  }
  return { toleranceMs, nowMs };
}

/**
 * For receivers: checks an AgentPay webhook. `timestamp` is the `AgentPay-Timestamp`
 * header, `body` the raw request body (bytes or the exact string, not re-serialised JSON),
 * `header` the `AgentPay-Signature` header. Any `v1=` entry signed with any of the
 * given secrets passes (rotation). Compares in constant time. Throws
 * `WEBHOOK_TIMESTAMP_INVALID` for a missing, malformed or out-of-tolerance timestamp
 * (replays of old requests), `WEBHOOK_SIGNATURE_INVALID` otherwise. De-duplicate by
 * `AgentPay-Event-Id`: delivery is at least once.
 */
export function verifyWebhookSignature(
  secret: WebhookSecret,
  timestamp: string | number | null | undefined,
  body: string | Uint8Array,
  header: string | null | undefined,
  options: VerifyWebhookOptions = {},
): void {
  const { toleranceMs, nowMs } = checkOptions(options);
  const secrets = secretsOf(secret);
  const ts = timestamp === null || timestamp === undefined ? "" : String(timestamp);
  if (!TIMESTAMP_RE.test(ts)) {
    throw new AgentPayError("WEBHOOK_TIMESTAMP_INVALID", "the webhook timestamp is missing or malformed");
  }
  if (Math.abs(nowMs - Number(ts)) > toleranceMs) {
    throw new AgentPayError("WEBHOOK_TIMESTAMP_INVALID", "the webhook timestamp is outside the tolerance", { toleranceMs });
  }
  if (typeof body !== "string" && !(body instanceof Uint8Array)) {
    throw new AgentPayError("INVALID_INPUT", "body must be the raw request body", { field: "body" });
  }
  if (typeof header !== "string" || header.length === 0 || header.length > MAX_SIGNATURE_HEADER) {
    throw new AgentPayError("WEBHOOK_SIGNATURE_INVALID", "the webhook signature is missing or malformed");
  }
  const given: Buffer[] = [];
  for (const part of header.split(",").slice(0, MAX_SIGNATURES * 2)) {
    const m = /^\s*v1=([0-9a-f]{64})\s*$/.exec(part);
    if (m) given.push(Buffer.from(m[1]!, "hex"));
  }
  if (given.length === 0) throw new AgentPayError("WEBHOOK_SIGNATURE_INVALID", "the webhook signature is missing or malformed");
  let ok = false;
  for (const s of secrets) {
    const expected = Buffer.from(hmacHex(s, ts, body), "hex");
    // Check every pair (no early exit), each comparison in constant time.
    for (const g of given) if (timingSafeEqual(g, expected)) ok = true;
  }
  if (!ok) throw new AgentPayError("WEBHOOK_SIGNATURE_INVALID", "the webhook signature does not match");
}
