import { randomBytes } from "node:crypto";
import type { Env } from "../env.ts";
import type { MiddlewareHandler } from "hono";

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

/** Every response carries `Request-Id`; errors repeat it in their body, logs carry it too. */
export const requestId: MiddlewareHandler<Env> = async (c, next) => {
  const id = newRequestId();
  c.set("requestId", id);
  c.header("Request-Id", id);
  await next();
  c.res.headers.set("Request-Id", id);
};
