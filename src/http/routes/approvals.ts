// The person's approvals: what an agent wants to pay above the threshold (or what the risk engine asked).
import type { Env } from "../env.ts";
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { approvalFor } from "../access.ts";
import { apiError } from "../errors.ts";
import { need } from "../principal.ts";
import { PageQuery, id } from "../schemas/common.ts";
import { Resolve } from "../schemas/inputs.ts";
import { Approval, ApprovalList, ApprovalResolution } from "../schemas/resources.ts";
import type { Deps } from "./define.ts";
import { jsonBody, page, responses, security, send } from "./define.ts";

const Params = z.object({ approvalId: id("apr", "approval") });

export function approvalRoutes(app: OpenAPIHono<Env>, { pay }: Deps): void {
  const tags = ["approvals"];
  app.openapi(createRoute({
    method: "get", path: "/v1/approvals", tags, summary: "Pending approvals (a person: its own)", security: security("person", "operator"),
    request: { query: PageQuery.extend({ ownerId: z.string().max(255).optional() }) }, responses: responses(200, ApprovalList, "Pending approvals, oldest first"),
  }), (c) => {
    const p = need(c, "person", "operator");
    const q = c.req.valid("query");
    if (p.kind === "person" && q.ownerId !== undefined && q.ownerId !== p.ownerId) throw apiError("FORBIDDEN", "a person key lists its own approvals");
    const ownerId = p.kind === "person" ? p.ownerId : q.ownerId;
    return send(c, pay, 200, page(pay.approvals.listPending(ownerId !== undefined ? { ownerId } : {}), q));
  });

  app.openapi(createRoute({
    method: "get", path: "/v1/approvals/{approvalId}", tags, summary: "Get an approval request", security: security("person", "operator"),
    request: { params: Params }, responses: responses(200, Approval, "The approval request"),
  }), (c) => send(c, pay, 200, approvalFor(pay, need(c, "person", "operator"), c.req.valid("param").approvalId)));

  app.openapi(createRoute({
    method: "post", path: "/v1/approvals/{approvalId}/approve", tags, summary: "Approve: exactly the waiting payment goes ahead (hold and token)",
    security: security("person", "operator"), request: { params: Params, body: { required: false, content: { "application/json": { schema: Resolve } } } },
    responses: responses(200, ApprovalResolution, "The resolution and the payment's authorization"),
  }), async (c) => {
    const p = need(c, "person", "operator");
    const a = approvalFor(pay, p, c.req.valid("param").approvalId);
    const note = (c.req.valid("json") as { note?: string } | undefined)?.note;
    const r = await pay.approvals.approve(a.id, { by: p.kind === "person" ? `person:${p.ownerId}` : "operator", ...(note ? { note } : {}) });
    // The token belongs to the agent: the person's answer does not carry it.
    const { token: _t, voucher: _v, ...result } = r.result as typeof r.result & { voucher?: unknown };
    return send(c, pay, 200, { approval: r.approval, result });
  });

  app.openapi(createRoute({
    method: "post", path: "/v1/approvals/{approvalId}/deny", tags, summary: "Deny: the payment is recorded as denied, nothing moves",
    security: security("person", "operator"), request: { params: Params, body: { required: false, content: { "application/json": { schema: Resolve } } } },
    responses: responses(200, ApprovalResolution, "The resolution"),
  }), async (c) => {
    const p = need(c, "person", "operator");
    const a = approvalFor(pay, p, c.req.valid("param").approvalId);
    const note = (c.req.valid("json") as { note?: string } | undefined)?.note;
    const r = await pay.approvals.deny(a.id, { by: p.kind === "person" ? `person:${p.ownerId}` : "operator", ...(note ? { note } : {}) });
    return send(c, pay, 200, { approval: r.approval });
  });
}
