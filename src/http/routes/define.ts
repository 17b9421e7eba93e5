// Small helpers every route file uses: security requirements, the error responses every route may give,
// JSON bodies, and sending a library result in its wire form.
import type { Env } from "../env.ts";
import type { Context } from "hono";
import { z } from "@hono/zod-openapi";
import type { AgentPay } from "../../index.ts";
import { ErrorBody } from "../schemas/common.ts";
import type { PrincipalKind } from "../principal.ts";
import { apiError } from "../errors.ts";
import { jsonResponse } from "../response.ts";

export interface Deps {
  pay: AgentPay;
  /** Upper bound of a long-poll, seconds. */
  maxWaitS: number;
}

const SCHEME: Record<PrincipalKind, string> = { operator: "apiKey", person: "apiKey", merchant: "apiKey", agent: "agentSignature" };

/** The OpenAPI security requirement for these caller kinds (documentation: the handler checks it). */
export function security(...kinds: PrincipalKind[]): Array<Record<string, string[]>> {
  return [...new Set(kinds.map((k) => SCHEME[k]))].map((s) => ({ [s]: [] }));
}

const ERRORS: Record<number, string> = {
  400: "Bad input (INVALID_INPUT, INVALID_AMOUNT, …): nothing changed",
  401: "Missing or invalid credentials",
  403: "Not allowed for this caller",
  404: "No such resource (or not the caller's)",
  409: "Conflict with the resource's state, or an idempotency conflict",
  413: "Body too large",
  422: "Refused by the rules (insufficient funds, over a limit, …)",
  429: "Rate limited: see Retry-After",
  503: "Overloaded, shutting down or not the leader: retry with the same Idempotency-Key",
};

/** The route's success response plus every error it may answer, all in the one error shape. */
export function responses<S extends z.ZodTypeAny>(status: number, schema: S, description: string, extra: number[] = []) {
  const out: Record<number, { description: string; content: { "application/json": { schema: z.ZodTypeAny } } }> = {
    [status]: { description, content: { "application/json": { schema } } },
  };
  for (const code of [400, 401, 403, 404, 409, 413, 422, 429, 503, ...extra]) {
    out[code] = { description: ERRORS[code] ?? "Error", content: { "application/json": { schema: ErrorBody } } };
  }
  return out;
}

export function jsonBody<S extends z.ZodTypeAny>(schema: S, description?: string) {
  return { required: true, content: { "application/json": { schema } }, ...(description ? { description } : {}) };
}

export const IdempotencyHeader = z.object({
  "idempotency-key": z.string().max(255).optional().openapi({ description: "Retries with the same key and body get the first response (24 h)." }),
});

export const RequiredIdempotencyHeader = z.object({
  "idempotency-key": z.string().min(1).max(255).openapi({ description: "Required: money moves exactly once, whatever the retries (durable)." }),
});

/**
 * Sends a library result in its wire form. The JSON text is also left on the context
 * (`responseBody`), so the idempotency middleware stores it without reading the Response back.
 */
export function send(c: Context<Env>, pay: AgentPay, status: number, value: unknown): never {
  return jsonResponse(c, status, JSON.stringify(pay.toWire(value)), "application/json") as never;
}

/** A page of `items` (already ordered) after the cursor. */
export function page<T extends { id: string }>(items: readonly T[], q: { limit?: number | undefined; starting_after?: string | undefined }) {
  const limit = q.limit ?? 20;
  let start = 0;
  if (q.starting_after !== undefined) {
    const at = items.findIndex((x) => x.id === q.starting_after);
    if (at < 0) throw apiError("INVALID_INPUT", "starting_after is not an item of this list", { field: "starting_after" });
    start = at + 1;
  }
  const data = items.slice(start, start + limit);
  const hasMore = start + limit < items.length;
  return { object: "list" as const, data, hasMore, ...(hasMore && data.length > 0 ? { nextCursor: data[data.length - 1]!.id } : {}) };
}

/** The Idempotency-Key of this request (set by the idempotency middleware), or a 400 when required. */
export function idempotencyKeyOf(c: Context<Env>): string {
  const key = c.get("idempotencyKey");
  if (!key) throw apiError("INVALID_INPUT", "this request moves money: send an Idempotency-Key header", { field: "Idempotency-Key" });
  return key;
}
