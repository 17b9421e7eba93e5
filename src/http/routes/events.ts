// Events: a live Server-Sent Events feed of what concerns the caller (approvals asked, payments moving,
// notifications), and, for operators, the deliveries behind webhooks.
import type { Env } from "../env.ts";
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import type { AgentPay } from "../../index.ts";
import { apiError } from "../errors.ts";
import { need, partyOf, stillValid } from "../principal.ts";
import type { Principal } from "../principal.ts";
import { id } from "../schemas/common.ts";
import { Event } from "../schemas/resources.ts";
import type { Deps } from "./define.ts";
import { responses, security, send } from "./define.ts";

interface LiveEvent { id: string; type: string; createdAtMs: number; subject: Record<string, string>; data: unknown }

/** Streams open at once, and events buffered per stream before a slow reader is dropped. */
const MAX_STREAMS = 1_000;
/** Streams one party may hold at once: no caller can take every stream from the others. */
const MAX_STREAMS_PER_PARTY = 16;
const MAX_BUFFERED = 1_000;
const HEARTBEAT_MS = 15_000;

/** Whether an event concerns this caller (by the ids it is about). */
export function concerns(pay: AgentPay, p: Principal, e: { type: string; subject: Record<string, string> }, owners: Map<string, string>): boolean {
  const s = e.subject ?? {};
  if (p.kind === "operator") return true;
  // A notification is the person's message (its budgets, limits, new merchants), though its subject names the payment's merchant and agent.
  if (e.type === "notification" && p.kind !== "person") return false;
  if (p.kind === "merchant") return s.merchantId === p.merchantId;
  if (p.kind === "agent") return s.agentId === p.agentId;
  const walletId = s.walletId;
  if (!walletId) return false;
  let owner = owners.get(walletId);
  if (owner === undefined) {
    try {
      owner = pay.wallets.get(walletId).ownerId;
    } catch {
      owner = "";
    }
    if (owners.size > 10_000) owners.clear();
    owners.set(walletId, owner);
  }
  return owner === p.ownerId;
}

export function eventRoutes(app: OpenAPIHono<Env>, { pay }: Deps): void {
  const tags = ["events"];
  let streams = 0;
  const perParty = new Map<string, number>();
  const owners = new Map<string, string>();

  app.openapi(createRoute({
    method: "get", path: "/v1/events/stream", tags, summary: "Live events (Server-Sent Events) that concern the caller",
    description: "Each SSE message: `event: <type>`, `id: <event id>`, `data: <the event as JSON>`. Filter with `?types=approval.requested,payment.authorized`. Live only (no replay): read what you missed from the resources.",
    security: security("person", "operator", "merchant", "agent"),
    request: { query: z.object({ types: z.string().max(500).optional() }) },
    responses: { 200: { description: "text/event-stream", content: { "text/event-stream": { schema: z.string() } } } },
  }), (c) => {
    const p = need(c, "person", "operator", "merchant", "agent");
    const types = c.req.valid("query").types?.split(",").map((t) => t.trim()).filter(Boolean);
    if (streams >= MAX_STREAMS) throw apiError("RATE_LIMITED", "too many open event streams", { retryAfterS: 5 });
    const party = partyOf(p);
    const held = perParty.get(party) ?? 0;
    if (held >= MAX_STREAMS_PER_PARTY) throw apiError("RATE_LIMITED", `at most ${MAX_STREAMS_PER_PARTY} event streams open at once per caller`, { retryAfterS: 5 });
    streams++;
    perParty.set(party, held + 1);
    return streamSSE(c, async (stream) => {
      const queue: LiveEvent[] = [];
      let wake: (() => void) | undefined;
      let dropped = false;
      let live = true;
      const stop = pay.watchEvents((e) => {
        if (types && !types.includes(e.type)) return;
        if (!concerns(pay, p, e, owners)) return;
        if (queue.length >= MAX_BUFFERED) {
          dropped = true;
        } else {
          queue.push(e);
        }
        wake?.();
      });
      stream.onAbort(() => wake?.());
      try {
        await stream.writeSSE({ event: "ready", data: JSON.stringify({ principal: p.kind }) });
        // Each turn re-checks the credentials: a revoked key or a disabled agent ends the stream.
        while (!stream.aborted && !stream.closed && !dropped && (live = stillValid(pay, p))) {
          const e = queue.shift();
          if (e) {
            await stream.writeSSE({ event: e.type, id: e.id, data: JSON.stringify(pay.toWire(e)) });
            continue;
          }
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, HEARTBEAT_MS);
            wake = () => { clearTimeout(t); wake = undefined; resolve(); };
          });
          if (queue.length === 0 && !stream.aborted) await stream.write(": heartbeat\n\n");
        }
        if (dropped) await stream.writeSSE({ event: "overflow", data: JSON.stringify({ reason: "the reader fell behind; reconnect and re-read" }) });
        else if (!live) await stream.writeSSE({ event: "unauthenticated", data: JSON.stringify({ reason: "the credentials were revoked or expired, or the agent disabled" }) });
      } finally {
        stop();
        streams--;
        const left = (perParty.get(party) ?? 1) - 1;
        if (left > 0) perParty.set(party, left);
        else perParty.delete(party);
      }
    });
  });

  app.openapi(createRoute({
    method: "get", path: "/v1/events/{eventId}", tags, summary: "Get an event", security: security("person", "operator", "merchant", "agent"),
    request: { params: z.object({ eventId: id("evt", "event") }) }, responses: responses(200, Event, "The event"),
  }), (c) => {
    const p = need(c, "person", "operator", "merchant", "agent");
    const { eventId } = c.req.valid("param");
    const e = pay.events.event(eventId);
    if (!e || !concerns(pay, p, e as unknown as LiveEvent, owners)) throw apiError("NOT_FOUND", "no such event", { id: eventId });
    return send(c, pay, 200, e);
  });

  app.openapi(createRoute({
    method: "get", path: "/v1/events/{eventId}/deliveries", tags, summary: "An event's deliveries (webhooks, topics) and their attempts",
    security: security("operator"), request: { params: z.object({ eventId: id("evt", "event") }) },
    responses: responses(200, z.object({ data: z.array(z.record(z.string(), z.unknown())) }).openapi("DeliveryList"), "Deliveries"),
  }), (c) => {
    need(c, "operator");
    return send(c, pay, 200, { data: pay.events.deliveries(c.req.valid("param").eventId) });
  });

  app.openapi(createRoute({
    method: "get", path: "/v1/deliveries/dead", tags, summary: "Dead-lettered deliveries", security: security("operator"),
    request: { query: z.object({ limit: z.coerce.number().int().min(1).max(1000).optional() }) },
    responses: responses(200, z.object({ data: z.array(z.record(z.string(), z.unknown())) }).openapi("DeadLetters"), "Deliveries that gave up"),
  }), (c) => {
    need(c, "operator");
    return send(c, pay, 200, { data: pay.events.deadLetters(c.req.valid("query").limit ?? 100) });
  });

  app.openapi(createRoute({
    method: "post", path: "/v1/deliveries/{deliveryId}/redeliver", tags, summary: "Put a dead-lettered delivery back in line", security: security("operator"),
    request: { params: z.object({ deliveryId: z.string().min(4).max(80) }) },
    responses: responses(200, z.record(z.string(), z.unknown()).openapi("Delivery"), "The delivery"),
  }), async (c) => {
    need(c, "operator");
    return send(c, pay, 200, await pay.events.redeliver(c.req.valid("param").deliveryId));
  });
}
