import type { MiddlewareHandler } from "hono";
import type { Env } from "../env.ts";
import { getConnInfo } from "@hono/node-server/conninfo";
import { apiError } from "../errors.ts";
import type { Principal } from "../principal.ts";

export interface RateLimitOptions {
  /** Sustained requests per second per key (or per client address without credentials). Default 200. */
  perSecond?: number;
  /** Bucket size. Default 2 × perSecond. */
  burst?: number;
  /** Buckets kept (oldest forgotten first). Default 50,000. */
  maxBuckets?: number;
}

interface Bucket { tokens: number; atMs: number }

/** A token bucket per caller: past it, 429 RATE_LIMITED with Retry-After. */
export function rateLimit(opts: RateLimitOptions = {}): MiddlewareHandler<Env> {
  const rate = opts.perSecond ?? 200;
  const burst = opts.burst ?? rate * 2;
  const maxBuckets = opts.maxBuckets ?? 50_000;
  const buckets = new Map<string, Bucket>();
  return async (c, next) => {
    const p = c.get("principal");
    let who = p ? `${p.kind}:${p.id}` : undefined;
    if (!who) {
      try {
        who = `ip:${getConnInfo(c).remote.address ?? "?"}`;
      } catch {
        who = "ip:?"; // app.request() in tests has no socket
      }
    }
    const now = Date.now();
    let b = buckets.get(who);
    if (b) buckets.delete(who); // re-inserted below: Map order is recency order
    else b = { tokens: burst, atMs: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.atMs) / 1000) * rate);
    b.atMs = now;
    buckets.set(who, b);
    if (buckets.size > maxBuckets) buckets.delete(buckets.keys().next().value!);
    if (b.tokens < 1) {
      throw apiError("RATE_LIMITED", "too many requests", { retryAfterS: Math.max(1, Math.ceil((1 - b.tokens) / rate)) });
    }
    b.tokens -= 1;
    await next();
  };
}
