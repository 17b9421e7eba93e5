// HTTP webhook delivery: the signed request of one attempt.
import type { Clock } from "../core/index.ts";
import type { Outcome } from "./lease.ts";
import { signWebhook } from "./signature.ts";
import type { WebhookSecret } from "./signature.ts";
import {
  HEADER_ATTEMPT, HEADER_DELIVERY_ID, HEADER_EVENT_ID, HEADER_EVENT_TYPE, HEADER_SIGNATURE, HEADER_TIMESTAMP,
} from "./types.ts";
import type { DeliveryRecord, Event, EventRecord, WebhookDestination } from "./types.ts";

/** Wire JSON of an event: bigints become decimal strings. Deterministic, so every retry sends the same bytes. */
export function webhookBody(event: Event): string {
  return JSON.stringify(
    { id: event.id, type: event.type, createdAtMs: event.createdAtMs, subject: event.subject, data: event.data },
    (_k, v) => (typeof v === "bigint" ? v.toString() : v),
  );
}

/** A short label for a failed request: never the message (it may carry a URL), never a secret. */
export function errorLabel(e: unknown): string {
  if (e instanceof Error || (typeof e === "object" && e !== null)) {
    const err = e as { name?: unknown; cause?: { code?: unknown } };
    if (err.name === "TimeoutError") return "timeout";
    const code = err.cause?.code;
    if (typeof code === "string" && /^[A-Z0-9_]{1,40}$/.test(code)) return code;
  }
  return "network_error";
}

export interface WebhookSenderOptions {
  clock: Clock;
  fetch: typeof fetch;
  resolveSecret: ((secretRef: string) => WebhookSecret | undefined) | undefined;
  timeoutMs: number;
  userAgent: string;
}

/** Sends webhook attempts: resolves the secret, signs the body, POSTs it, and labels the outcome. */
export class WebhookSender {
  readonly #o: WebhookSenderOptions;

  constructor(options: WebhookSenderOptions) {
    this.#o = options;
  }

  /** One attempt. `stop` aborted means the deliverer is stopping (the attempt is interrupted, not failed). */
  async send(d: DeliveryRecord, dest: WebhookDestination, event: EventRecord, stop: AbortSignal): Promise<Outcome> {
    let secret: WebhookSecret | undefined;
    try {
      secret = dest.secret ?? (dest.secretRef !== undefined ? this.#o.resolveSecret?.(dest.secretRef) : undefined);
    } catch {
      secret = undefined;
    }
    if (secret === undefined || (typeof secret !== "string" && !(secret instanceof Uint8Array) && !Array.isArray(secret))) {
      return { ok: false, error: "secret_unavailable" };
    }
    const body = webhookBody(event);
    const timestamp = String(this.#o.clock.nowMs());
    let signature: string;
    try {
      signature = signWebhook(secret, timestamp, body);
    } catch {
      return { ok: false, error: "secret_unavailable" };
    }
    const headers: Record<string, string> = {
      ...dest.headers,
      "Content-Type": "application/json",
      "User-Agent": this.#o.userAgent,
      [HEADER_EVENT_ID]: event.id,
      [HEADER_EVENT_TYPE]: event.type,
      [HEADER_DELIVERY_ID]: d.id,
      [HEADER_ATTEMPT]: String(d.attempts),
      [HEADER_TIMESTAMP]: timestamp,
      [HEADER_SIGNATURE]: signature,
    };
    const signal = AbortSignal.any([AbortSignal.timeout(this.#o.timeoutMs), stop]);
    try {
      const res = await this.#o.fetch(dest.url, { method: "POST", headers, body, redirect: "manual", signal });
      try {
        await res.body?.cancel();
      } catch {
        // the response body is not needed
      }
      const ok = res.status >= 200 && res.status < 300;
      return ok ? { ok, statusCode: res.status } : { ok, statusCode: res.status, error: `http_${res.status}` };
    } catch (e) {
      if (stop.aborted) return { ok: false, error: "interrupted", interrupted: true };
      return { ok: false, error: errorLabel(e) };
    }
  }
}
