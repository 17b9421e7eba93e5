import { randomBytes } from "node:crypto";
import type { Env } from "../env.ts";
import type { MiddlewareHandler } from "hono";
import { API_VERSION, isStamped } from "../response.ts";

// 96 random bits per id, drawn from a pool refilled 4 KiB at a time: one small randomBytes call per
// request costs more than the rest of a trivial request's middleware.
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let at = POOL_BYTES;

function newRequestId(): string {
  if (at + 12 > pool.length) {
    pool = randomBytes(POOL_BYTES);
    at = 0;
  }
  at += 12;
  return `req_${pool.toString("base64url", at - 12, at)}`;
}

/**
 * Every response carries `Request-Id` (errors repeat it in their body, logs carry it too) and the common
 * headers (AgentPay-Version, Cache-Control unless the route set one, X-Content-Type-Options).
 */
export const requestId: MiddlewareHandler<Env> = async (c, next) => {
  const id = newRequestId();
  c.set("requestId", id);
  await next();
  // Set once the response exists (not also up front with c.header(): that would give every response a
  // Headers object); a response from jsonResponse carries them already.
  if (isStamped(c)) return;
  const h = c.res.headers;
  h.set("Request-Id", id);
  h.set("AgentPay-Version", API_VERSION);
  if (!h.has("Cache-Control")) h.set("Cache-Control", "no-store");
  h.set("X-Content-Type-Options", "nosniff");
};
