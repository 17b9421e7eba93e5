// HTTP webhook delivery: the signed request of one attempt.
import type { Clock } from "../core/index.ts";
import type { Outcome } from "./lease.ts";
import { resolveHost } from "./network.ts";
import type { HostLookup, ResolvedAddress, WebhookAddressPolicy } from "./network.ts";
import { PinnedHttp, PinnedRequestError } from "./pinned-http.ts";
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

/** The label of an attempt refused by the address policy (dead-lettered at once: retrying cannot help). */
export const DESTINATION_REFUSED = "destination_refused";

/** A short label for a failed request: never the message (it may carry a URL), never a secret. */
export function errorLabel(e: unknown): string {
  if (e instanceof Error || (typeof e === "object" && e !== null)) {
    const err = e as { name?: unknown; code?: unknown; cause?: { code?: unknown } };
    if (err.name === "TimeoutError") return "timeout";
    if (err.name === "NoAddressError") return "dns_no_address";
    for (const code of [err.code, err.cause?.code]) {
      if (typeof code === "string" && /^[A-Z0-9_]{1,40}$/.test(code)) return code;
    }
  }
  return "network_error";
}

export interface WebhookSenderOptions {
  clock: Clock;
  /** A transport of your own: then names are not resolved here and nothing is pinned. */
  fetch: typeof fetch | undefined;
  resolveSecret: ((secretRef: string) => WebhookSecret | undefined) | undefined;
  timeoutMs: number;
  userAgent: string;
  policy: WebhookAddressPolicy;
  lookup: HostLookup;
  /** Extra trusted CA certificates (PEM) for the built-in transport. */
  ca: readonly string[];
}

/**
 * Sends webhook attempts: resolves the secret, resolves the host once and checks every address
 * against the policy, signs the body, POSTs it to a checked address, and labels the outcome.
 */
export class WebhookSender {
  readonly #o: WebhookSenderOptions;
  readonly #http: PinnedHttp;

  constructor(options: WebhookSenderOptions) {
    this.#o = options;
    this.#http = new PinnedHttp(options.ca);
  }

  /** One attempt. `stop` aborted means the deliverer is stopping (the attempt is interrupted, not failed). */
  async send(d: DeliveryRecord, dest: WebhookDestination, event: EventRecord, stop: AbortSignal): Promise<Outcome> {
    const secret = this.#secretOf(dest);
    if (secret === undefined) return { ok: false, error: "secret_unavailable" };
    const url = new URL(dest.url);
    // One bound for the whole attempt: resolving, connecting, the answer.
    const signal = AbortSignal.any([AbortSignal.timeout(this.#o.timeoutMs), stop]);
    const failed = (e: unknown, address?: string): Outcome => {
      const at = address !== undefined ? { address } : {};
      if (stop.aborted) return { ok: false, error: "interrupted", interrupted: true, ...at };
      return { ok: false, error: signal.aborted ? "timeout" : errorLabel(e), ...at };
    };

    // Where to: resolved once, every address checked; only checked addresses are connected to.
    let addresses: ResolvedAddress[] = [];
    if (this.#o.fetch) {
      // Your transport connects as it will: only what the URL says can be checked here.
      if (this.#o.policy.refusesHost(url.hostname)) return { ok: false, error: DESTINATION_REFUSED, permanent: true };
    } else {
      try {
        addresses = await resolveHost(url.hostname, this.#o.lookup, signal);
      } catch (e) {
        return failed(e);
      }
      const refused = addresses.find((a) => !this.#o.policy.allows(a.address));
      if (refused) return { ok: false, error: DESTINATION_REFUSED, permanent: true, address: refused.address };
    }

    // What: the body, signed at the time of sending.
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

    try {
      if (this.#o.fetch) {
        const res = await this.#o.fetch(dest.url, { method: "POST", headers, body, redirect: "manual", signal });
        res.body?.cancel().catch(() => {}); // the response body is not needed
        return answered(res.status);
      }
      const res = await this.#http.post({ url, addresses, headers, body, signal });
      return answered(res.statusCode, res.address);
    } catch (e) {
      return e instanceof PinnedRequestError ? failed(e.cause ?? e, e.address) : failed(e);
    }
  }

  #secretOf(dest: WebhookDestination): WebhookSecret | undefined {
    let secret: WebhookSecret | undefined;
    try {
      secret = dest.secret ?? (dest.secretRef !== undefined ? this.#o.resolveSecret?.(dest.secretRef) : undefined);
    } catch {
      return undefined;
    }
    const usable = typeof secret === "string" || secret instanceof Uint8Array || Array.isArray(secret);
    return usable ? secret : undefined;
  }
}

/** Redirects are answers like any other non-2xx: never followed (their target was never checked). */
function answered(status: number, address?: string): Outcome {
  const at = address !== undefined ? { address } : {};
  return status >= 200 && status < 300 ? { ok: true, statusCode: status, ...at } : { ok: false, statusCode: status, error: `http_${status}`, ...at };
}
