import { randomBytes } from "node:crypto";
import type { Env } from "../env.ts";
import type { MiddlewareHandler } from "hono";

/** Every response carries `Request-Id`; errors repeat it in their body, logs carry it too. */
export const requestId: MiddlewareHandler<Env> = async (c, next) => {
  const id = `req_${randomBytes(12).toString("base64url")}`;
  c.set("requestId", id);
  c.header("Request-Id", id);
  await next();
  c.res.headers.set("Request-Id", id);
};
