// One error shape for every failure: {"error":{"code","message","details","requestId"}}, with the
// status from the error catalog (src/core/error-codes.ts), mapped once here.
import type { Env } from "./env.ts";
import type { Context } from "hono";
import { AgentPayError, errorCatalog, isAgentPayError, isErrorCode, toWire } from "../index.ts";
import type { ErrorCode } from "../index.ts";
import { jsonResponse } from "./response.ts";

export function httpStatusOf(code: ErrorCode): number {
  return errorCatalog[code].http;
}

export function apiError(code: ErrorCode, message: string, details: Record<string, unknown> = {}): AgentPayError {
  return new AgentPayError(code, message, details);
}

/** The response for any thrown value; unknown failures become INTERNAL_ERROR (their text is logged, never sent). */
export function errorResponse(c: Context<Env>, err: unknown): Response {
  const requestId = c.get("requestId") ?? "";
  const e = isAgentPayError(err) && isErrorCode(err.code) ? err : new AgentPayError("INTERNAL_ERROR", "internal error");
  const status = httpStatusOf(e.code);
  const body = JSON.stringify({ error: { code: e.code, message: e.message, details: toWire(e.details) as Record<string, unknown>, requestId } });
  const retryAfter = (e.details as { retryAfterS?: unknown }).retryAfterS;
  const retry = typeof retryAfter === "number" ? String(retryAfter)
    : e.code === "ENGINE_OVERLOADED" || e.code === "NOT_LEADER" || e.code === "STORE_FAILURE" ? "1" : undefined;
  return jsonResponse(c, status, body, "application/json; charset=utf-8", retry === undefined ? undefined : { "retry-after": retry });
}
