import type { MiddlewareHandler } from "hono";
import type { Env } from "../env.ts";
import type { Logger } from "pino";
import type { Principal } from "../principal.ts";

/**
 * One structured line per request: id, method, path (no query string: it may hold cursors, never
 * secrets, but is not needed), status, duration, who. Never headers, bodies, tokens or keys.
 */
export function accessLog(logger: Logger | undefined): MiddlewareHandler<Env> {
  return async (c, next) => {
    if (!logger) return next();
    const t0 = performance.now();
    await next();
    const p = c.get("principal");
    logger.info({
      requestId: c.get("requestId"), method: c.req.method, path: new URL(c.req.url).pathname, status: c.res.status,
      ms: Math.round((performance.now() - t0) * 10) / 10, ...(p ? { principal: p.kind, principalId: p.id } : {}),
    }, "request");
  };
}
