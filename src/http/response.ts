// The headers every API response carries, and JSON responses built with them in one plain object.
// Why plain: a response whose headers are a plain object is written by @hono/node-server straight to
// node:http; touching `c.res.headers` (or Hono's c.header()/c.body() with several headers) builds a
// WHATWG Headers object per response, which cost more CPU than the rest of the response path.
import type { Context } from "hono";
import type { Env } from "./env.ts";

export const API_VERSION = "2026-12-04";

/** Set on every response (app.ts adds them to responses not built by jsonResponse). */
export const COMMON_HEADERS = { "agentpay-version": API_VERSION, "cache-control": "no-store", "x-content-type-options": "nosniff" } as const;

/**
 * A JSON response with the request id and the common headers already in place. The text and headers are
 * left on the context (`sent`): the idempotency middleware stores them without reading the Response
 * back, and the outer middleware leaves that very Response alone.
 */
export function jsonResponse(c: Context<Env>, status: number, body: string, contentType: string, extra?: Record<string, string>): Response {
  const headers: Record<string, string> = { "content-type": contentType, ...extra, "request-id": c.get("requestId") ?? "", ...COMMON_HEADERS };
  const res = new Response(body, { status, headers });
  c.set("responseBody", body);
  c.set("sent", { res, headers });
  return res;
}

/** Whether `c.res` is still the response jsonResponse built (so its headers are complete). */
export function isStamped(c: Context<Env>): boolean {
  const sent = c.get("sent");
  return sent !== undefined && c.res === sent.res;
}
