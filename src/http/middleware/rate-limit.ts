import type { Context, MiddlewareHandler } from "hono";
import type { Env } from "../env.ts";
import { getConnInfo } from "@hono/node-server/conninfo";
import { apiError } from "../errors.ts";
import { partyOf } from "../principal.ts";

export interface RateLimitOptions {
  /** Sustained requests per second per party (or per client address without credentials). Default 200. */
  perSecond?: number;
  /** Bucket size. Default 2 × perSecond. */
  burst?: number;
  /** Buckets kept (oldest forgotten first). Default 50,000. */
  maxBuckets?: number;
}

interface Bucket { tokens: number; atMs: number }

/** Token buckets by name: `take` spends one (false when there is none to spend). */
function buckets(opts: RateLimitOptions) {
  const rate = opts.perSecond ?? 200;
  const burst = opts.burst ?? rate * 2;
  const maxBuckets = opts.maxBuckets ?? 50_000;
  const all = new Map<string, Bucket>();
  const refilled = (who: string): Bucket => {
    const now = Date.now();
    let b = all.get(who);
    if (b) all.delete(who); // re-inserted below: Map order is recency order
    else b = { tokens: burst, atMs: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.atMs) / 1000) * rate);
    b.atMs = now;
    all.set(who, b);
    if (all.size > maxBuckets) all.delete(all.keys().next().value!);
    return b;
  };
  return {
    /** Throws 429 RATE_LIMITED (with Retry-After) when `who` has no request left. */
    check(who: string): void {
      const b = refilled(who);
      if (b.tokens < 1) throw apiError("RATE_LIMITED", "too many requests", { retryAfterS: Math.max(1, Math.ceil((1 - b.tokens) / rate)) });
    },
    spend(who: string): void {
      refilled(who).tokens -= 1;
    },
  };
}

function addressOf(c: Context<Env>): string {
  try {
    return `ip:${getConnInfo(c).remote.address ?? "?"}`;
  } catch {
    return "ip:?"; // app.request() in tests has no socket
  }
}

/**
 * A token bucket per party (a person's or a merchant's keys share one: minting keys buys no rate), or
 * per client address without credentials: past it, 429 RATE_LIMITED with Retry-After.
 */
export function rateLimit(opts: RateLimitOptions = {}): MiddlewareHandler<Env> {
  const limits = buckets(opts);
  return async (c, next) => {
    const p = c.get("principal");
    const who = p ? partyOf(p) : addressOf(c);
    limits.check(who);
    limits.spend(who);
    await next();
  };
}

/**
 * Runs before authentication: credentials that fail count against the client's address (as requests
 * without credentials do), and past the limit the next credentials from it are refused before they are
 * checked, so wrong keys or signatures buy no way around the per-address limit.
 */
export function authFailureLimit(opts: RateLimitOptions = {}): MiddlewareHandler<Env> {
  const failures = buckets(opts);
  return async (c, next) => {
    if (c.req.header("authorization") === undefined) return next();
    const who = addressOf(c);
    failures.check(who);
    await next();
    if (!c.get("principal")) failures.spend(who);
  };
}
