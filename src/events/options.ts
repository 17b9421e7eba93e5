import { AgentPayError } from "../core/index.ts";
import { systemLookup, WebhookAddressPolicy } from "./network.ts";
import type { HostLookup } from "./network.ts";
import type { WebhookSecret } from "./signature.ts";

export interface EventDelivererOptions {
  /** Resolves a destination's `secretRef` at delivery time (e.g. to the merchant's callback secret). */
  resolveSecret?: (secretRef: string) => WebhookSecret | undefined;
  /**
   * Your own HTTP transport (e.g. through an egress proxy that enforces its own destination rules).
   * By default webhooks go over node:http(s) to an address resolved, checked and pinned per attempt.
   * With `fetch` the deliverer does not resolve names: it refuses literal addresses and localhost
   * names that the address policy refuses, and your transport connects as it will (no pinning).
   */
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
  /**
   * Lets webhooks reach private, loopback, link-local and other special addresses (development,
   * tests, a trusted network). Default false: such destinations are refused (SSRF protection).
   */
  allowPrivateNetworks?: boolean;
  /** Addresses or CIDR ranges allowed although private, e.g. `["10.20.0.0/16", "fd00:1::/64"]`. At most 64. */
  allowedNetworks?: readonly string[];
  /** Resolves a webhook host to ALL its addresses. Default: node:dns `lookup` (the OS resolver, /etc/hosts included). */
  lookup?: HostLookup;
  /** Extra CA certificates (PEM) trusted for HTTPS webhooks, added to Node's roots (e.g. an internal CA). */
  ca?: string | readonly string[];
  /** Requests per second to one destination (scheme, host, port). Default 50. */
  ratePerDestination?: number;
  /** Requests a quiet destination may receive at once before the rate applies. Default 50. */
  burstPerDestination?: number;
  /** Requests in flight to one destination. Default 4 (at most `concurrency`). */
  concurrencyPerDestination?: number;
  /** Destinations whose rate state is kept while idle (least recently used forgotten first). Default 10,000. */
  maxDestinations?: number;
}

/** The options, checked and with their defaults. */
export interface DelivererConfig {
  resolveSecret: ((secretRef: string) => WebhookSecret | undefined) | undefined;
  fetch: typeof fetch;
  baseDelayMs: number;
  maxDelayMs: number;
  maxAttempts: number;
  timeoutMs: number;
  concurrency: number;
  maxQueue: number;
  pollMs: number;
  maxLog: number;
  random: () => number;
  userAgent: string;
  policy: WebhookAddressPolicy;
  lookup: HostLookup;
  /** Custom transport given (no resolving, no pinning). */
  customFetch: boolean;
  ca: string[];
  ratePerDestination: number;
  burstPerDestination: number;
  concurrencyPerDestination: number;
  maxDestinations: number;
}

export const MAX_MAX_ATTEMPTS = 50;

export function intOption(value: unknown, name: string, def: number, min: number, max: number): number {
  if (value === undefined) return def;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new AgentPayError("INVALID_INPUT", `${name} must be an integer from ${min} to ${max}`, { field: name });
  }
  return value;
}

/** Checks the options (INVALID_INPUT naming the field) and fills in the defaults. */
export function readOptions(options: EventDelivererOptions): DelivererConfig {
  if (options === null || typeof options !== "object") throw new AgentPayError("INVALID_INPUT", "options must be an object");
  const f = options.fetch ?? globalThis.fetch;
  if (typeof f !== "function") throw new AgentPayError("INVALID_INPUT", "no fetch available", { field: "fetch" });
  if (options.resolveSecret !== undefined && typeof options.resolveSecret !== "function") {
    throw new AgentPayError("INVALID_INPUT", "resolveSecret must be a function", { field: "resolveSecret" });
  }
  if (options.lookup !== undefined && typeof options.lookup !== "function") {
    throw new AgentPayError("INVALID_INPUT", "lookup must be a function", { field: "lookup" });
  }
  const ca = options.ca === undefined ? [] : typeof options.ca === "string" ? [options.ca] : options.ca;
  if (!Array.isArray(ca) || ca.length > 64 || ca.some((c) => typeof c !== "string" || !c.includes("-----BEGIN CERTIFICATE-----"))) {
    throw new AgentPayError("INVALID_INPUT", "ca must be PEM certificates (at most 64)", { field: "ca" });
  }
  const baseDelayMs = intOption(options.baseDelayMs, "baseDelayMs", 1_000, 1, 86_400_000);
  const concurrency = intOption(options.concurrency, "concurrency", 8, 1, 1_024);
  return {
    resolveSecret: options.resolveSecret,
    fetch: f,
    baseDelayMs,
    maxDelayMs: intOption(options.maxDelayMs, "maxDelayMs", 3_600_000, baseDelayMs, 7 * 86_400_000),
    maxAttempts: intOption(options.maxAttempts, "maxAttempts", 15, 1, MAX_MAX_ATTEMPTS),
    timeoutMs: intOption(options.timeoutMs, "timeoutMs", 10_000, 1, 600_000),
    concurrency,
    maxQueue: intOption(options.maxQueue, "maxQueue", 1_000, 1, 1_000_000),
    pollMs: intOption(options.pollMs, "pollMs", 1_000, 1, 3_600_000),
    maxLog: intOption(options.maxLog, "maxLog", 50, 1, 1_000),
    random: options.random ?? Math.random,
    userAgent: options.userAgent ?? "agentpay-webhooks/0.1",
    policy: new WebhookAddressPolicy(options),
    lookup: options.lookup ?? systemLookup,
    customFetch: options.fetch !== undefined,
    ca: [...ca],
    ratePerDestination: intOption(options.ratePerDestination, "ratePerDestination", 50, 1, 100_000),
    burstPerDestination: intOption(options.burstPerDestination, "burstPerDestination", 50, 1, 100_000),
    concurrencyPerDestination: Math.min(concurrency, intOption(options.concurrencyPerDestination, "concurrencyPerDestination", 4, 1, 1_024)),
    maxDestinations: intOption(options.maxDestinations, "maxDestinations", 10_000, 1, 1_000_000),
  };
}
