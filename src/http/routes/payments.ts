// Payments: agents ask (signed intents), merchants redeem, void and refund, everyone reads what is theirs.
import type { Env } from "../env.ts";
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { isAgentPayError, parseAmount } from "../../index.ts";
import { parseIntent } from "../../agents/index.ts";
import type { AgentPay, Payment, RefundRequest } from "../../index.ts";
import { got, paymentFor } from "../access.ts";
import { apiError } from "../errors.ts";
import { need, partyOf, stillValid } from "../principal.ts";
import type { Principal } from "../principal.ts";
import { PageQuery, SignedIntent, id } from "../schemas/common.ts";
import { CreateRefund, DeclineRefundRequest, GrantRefundRequest, Redeem, VoidPayment } from "../schemas/inputs.ts";
import {
  AuthorizeResult, Payment as PaymentSchema, PaymentList, Receipt, Refund, RefundRequest as RefundRequestSchema, RefundRequestList,
} from "../schemas/resources.ts";
import type { Deps } from "./define.ts";
import { RequiredIdempotencyHeader, idempotencyKeyOf, jsonBody, page, responses, security, send } from "./define.ts";

const PaymentParams = z.object({ paymentId: id("pay", "payment") });
const RequestParams = z.object({ refundRequestId: id("rrq", "refund request") });
const money = (pay: AgentPay, m: { value: string; currency: string }) => parseAmount(m.value, m.currency, pay.currencies);
/** Long-polls one party may hold at once: no caller can take every wait (the library allows 10,000 in all). */
const MAX_WAITS_PER_PARTY = 64;

/** A payment as this caller sees it: its own agent also gets the token while it is authorized. */
function view(pay: AgentPay, p: Principal, payment: Payment): Record<string, unknown> {
  if (p.kind !== "agent" || payment.status !== "authorized") return { ...payment };
  const issued = pay.payments.issuedToken(payment.id);
  return { ...payment, ...(issued ? { token: issued.token, ...(issued.voucher ? { voucher: issued.voucher } : {}) } : {}) };
}

function refundRequestFor(pay: AgentPay, p: Principal, requestId: string): RefundRequest {
  const r = got(() => pay.payments.getRefundRequest(requestId), "refund request", requestId);
  if (p.kind === "operator" || (p.kind === "merchant" && p.merchantId === r.merchantId) || (p.kind === "agent" && p.agentId === r.agentId)) return r;
  if (p.kind === "person") {
    paymentFor(pay, p, r.paymentId);
    return r;
  }
  throw apiError("NOT_FOUND", "no such refund request", { id: requestId });
}

export function paymentRoutes(app: OpenAPIHono<Env>, { pay, maxWaitS }: Deps): void {
  const tags = ["payments"];
  const waiting = new Map<string, number>();
  app.openapi(createRoute({
    method: "post", path: "/v1/payment-intents", tags, summary: "An agent asks to pay (a signed intent)",
    description: "The body is `{ intent }`: a compact JWS the agent signed over `{ action: \"pay\", subWalletId, merchantId, amount, currency, reference?, idempotencyKey }` (docs/AGENTS.md). It authenticates itself: no Authorization header. Retries sign a new intent with the same idempotencyKey and get the first result. A decline is 402 PAYMENT_DECLINED with every reason.",
    request: { body: jsonBody(SignedIntent) },
    responses: responses(201, AuthorizeResult, "approved (with the token) or pending_approval (with the approval id)", [402]),
  }), async (c) => send(c, pay, 201, await pay.payments.authorize(c.req.valid("json").intent)));

  app.openapi(createRoute({
    method: "get", path: "/v1/payments", tags, summary: "List payments (each caller sees its own)", security: security("person", "operator", "merchant", "agent"),
    request: {
      query: PageQuery.extend({
        subWalletId: z.string().max(80).optional(), agentId: z.string().max(80).optional(), merchantId: z.string().max(80).optional(),
        ownerId: z.string().max(255).optional(),
      }),
    },
    responses: responses(200, PaymentList, "Payments, newest first"),
  }), (c) => {
    const p = need(c, "person", "operator", "merchant", "agent");
    const q = c.req.valid("query");
    const forced = p.kind === "person" ? { ownerId: p.ownerId } : p.kind === "merchant" ? { merchantId: p.merchantId } : p.kind === "agent" ? { agentId: p.agentId } : {};
    for (const [k, v] of Object.entries(forced)) {
      if (q[k as keyof typeof q] !== undefined && q[k as keyof typeof q] !== v) return send(c, pay, 200, { object: "list", data: [], hasMore: false });
    }
    const filter = {
      ...(q.subWalletId ? { subWalletId: q.subWalletId } : {}), ...(q.agentId ? { agentId: q.agentId } : {}),
      ...(q.merchantId ? { merchantId: q.merchantId } : {}), ...(q.ownerId ? { ownerId: q.ownerId } : {}), ...forced,
    };
    const limit = q.limit ?? 20;
    const items = pay.payments.list({ ...filter, limit: limit + 1, ...(q.starting_after ? { startingAfter: q.starting_after } : {}) });
    const data = items.slice(0, limit).map((x) => view(pay, p, x));
    const hasMore = items.length > limit;
    return send(c, pay, 200, { object: "list", data, hasMore, ...(hasMore ? { nextCursor: (data[data.length - 1] as { id: string }).id } : {}) });
  });

  app.openapi(createRoute({
    method: "get", path: "/v1/payments/{paymentId}", tags, summary: "Get a payment; `?wait=30` long-polls while it waits for the person",
    security: security("person", "operator", "merchant", "agent"),
    request: { params: PaymentParams, query: z.object({ wait: z.coerce.number().int().min(0).max(60).optional().openapi({ description: "Seconds to wait while pending_approval." }) }) },
    responses: responses(200, PaymentSchema, "The payment (for its agent, with the token once authorized)"),
  }), async (c) => {
    const p = need(c, "person", "operator", "merchant", "agent");
    let payment = paymentFor(pay, p, c.req.valid("param").paymentId);
    const wait = Math.min(c.req.valid("query").wait ?? 0, maxWaitS);
    if (wait > 0 && payment.status === "pending_approval") {
      const party = partyOf(p);
      const held = waiting.get(party) ?? 0;
      if (held >= MAX_WAITS_PER_PARTY) throw apiError("RATE_LIMITED", `at most ${MAX_WAITS_PER_PARTY} long-polls at once per caller`, { retryAfterS: 1 });
      waiting.set(party, held + 1);
      try {
        payment = await pay.payments.wait(payment.id, { timeoutMs: wait * 1000 });
      } finally {
        const left = (waiting.get(party) ?? 1) - 1;
        if (left > 0) waiting.set(party, left);
        else waiting.delete(party);
      }
      // What was waited for (the token, once approved) goes only to credentials that still hold.
      if (!stillValid(pay, p)) throw apiError("UNAUTHENTICATED", "the credentials were revoked while the request waited");
    }
    return send(c, pay, 200, view(pay, p, payment));
  });

  app.openapi(createRoute({
    method: "post", path: "/v1/payments/redeem", tags, summary: "A merchant redeems a token (captures up to its cap, exactly once)",
    security: security("merchant"), request: { body: jsonBody(Redeem), headers: RequiredIdempotencyHeader },
    responses: responses(201, Receipt, "The receipt: captured, released"),
  }), async (c) => {
    const m = need(c, "merchant");
    const body = c.req.valid("json");
    return send(c, pay, 201, await pay.payments.redeem({ token: body.token, merchantId: m.merchantId, amount: money(pay, body.amount), idempotencyKey: idempotencyKeyOf(c) }));
  });

  app.openapi(createRoute({
    method: "post", path: "/v1/payments/{paymentId}/void", tags, summary: "Release an unredeemed payment (its merchant, or its agent with a signed intent)",
    security: security("merchant"), request: { params: PaymentParams, body: { required: false, content: { "application/json": { schema: VoidPayment } } } },
    responses: responses(200, PaymentSchema, "The voided payment"),
  }), async (c) => {
    const { paymentId } = c.req.valid("param");
    const body = c.req.valid("json") as { intent?: string } | undefined;
    if (body?.intent !== undefined) {
      // Checked before the intent is acted on (its signature is checked there): a mismatch voids nothing.
      const named = (parseIntent(body.intent).payload.body as { paymentId?: unknown } | null)?.paymentId;
      if (named !== paymentId) throw apiError("INVALID_INPUT", "the signed intent names another payment", { field: "intent" });
      return send(c, pay, 200, await pay.payments.voidByAgent(body.intent));
    }
    const m = need(c, "merchant");
    paymentFor(pay, m, paymentId);
    return send(c, pay, 200, await pay.payments.voidByMerchant({ merchantId: m.merchantId, paymentId }));
  });

  app.openapi(createRoute({
    method: "post", path: "/v1/payments/{paymentId}/refunds", tags, summary: "A merchant refunds (part of) a captured payment",
    security: security("merchant"), request: { params: PaymentParams, body: jsonBody(CreateRefund), headers: RequiredIdempotencyHeader },
    responses: responses(201, Refund, "The refund"),
  }), async (c) => {
    const m = need(c, "merchant");
    const { paymentId } = c.req.valid("param");
    paymentFor(pay, m, paymentId);
    const body = c.req.valid("json");
    return send(c, pay, 201, await pay.payments.refund({
      paymentId, merchantId: m.merchantId, amount: money(pay, body.amount), idempotencyKey: idempotencyKeyOf(c), ...(body.reason ? { reason: body.reason } : {}),
    }));
  });

  const rTags = ["refund requests"];
  app.openapi(createRoute({
    method: "post", path: "/v1/refund-requests", tags: rTags, summary: "An agent asks the merchant for a refund (a signed intent)",
    description: "The body is `{ intent }` over `{ action: \"refund_request\", paymentId, amount, currency, reason?, idempotencyKey }`; the grant needs the `refund:request` scope. The merchant is told by webhook (`refund.requested`).",
    request: { body: jsonBody(SignedIntent) }, responses: responses(201, RefundRequestSchema, "The refund request (pending)"),
  }), async (c) => send(c, pay, 201, await pay.payments.requestRefund(c.req.valid("json").intent)));

  app.openapi(createRoute({
    method: "get", path: "/v1/refund-requests", tags: rTags, summary: "A merchant's refund requests (the operator: of one merchant)",
    security: security("merchant", "operator"),
    request: { query: PageQuery.extend({ status: z.enum(["pending", "granted", "declined"]).optional(), merchantId: z.string().max(80).optional() }) },
    responses: responses(200, RefundRequestList, "Refund requests, newest first"),
  }), (c) => {
    const p = need(c, "merchant", "operator");
    const q = c.req.valid("query");
    const merchantId = p.kind === "merchant" ? p.merchantId : q.merchantId;
    if (!merchantId) throw apiError("INVALID_INPUT", "merchantId is required", { field: "merchantId" });
    if (p.kind === "merchant" && q.merchantId !== undefined && q.merchantId !== p.merchantId) return send(c, pay, 200, { object: "list", data: [], hasMore: false });
    return send(c, pay, 200, page(pay.payments.refundRequests({ merchantId, ...(q.status ? { status: q.status } : {}), limit: 1000 }), q));
  });

  app.openapi(createRoute({
    method: "get", path: "/v1/refund-requests/{refundRequestId}", tags: rTags, summary: "Get a refund request",
    security: security("merchant", "operator", "agent", "person"), request: { params: RequestParams },
    responses: responses(200, RefundRequestSchema, "The refund request"),
  }), (c) => send(c, pay, 200, refundRequestFor(pay, need(c, "merchant", "operator", "agent", "person"), c.req.valid("param").refundRequestId)));

  app.openapi(createRoute({
    method: "post", path: "/v1/refund-requests/{refundRequestId}/grant", tags: rTags, summary: "The merchant grants it: the refund is made",
    security: security("merchant"), request: { params: RequestParams, body: jsonBody(GrantRefundRequest), headers: RequiredIdempotencyHeader },
    responses: responses(201, z.object({ request: RefundRequestSchema, refund: Refund }).openapi("GrantedRefundRequest"), "The request and its refund"),
  }), async (c) => {
    const m = need(c, "merchant");
    const body = c.req.valid("json");
    return send(c, pay, 201, await pay.payments.grantRefundRequest({
      refundRequestId: c.req.valid("param").refundRequestId, merchantId: m.merchantId, idempotencyKey: idempotencyKeyOf(c),
      ...(body.amount ? { amount: money(pay, body.amount) } : {}),
    }));
  });

  app.openapi(createRoute({
    method: "post", path: "/v1/refund-requests/{refundRequestId}/decline", tags: rTags, summary: "The merchant declines it",
    security: security("merchant"), request: { params: RequestParams, body: jsonBody(DeclineRefundRequest) },
    responses: responses(200, RefundRequestSchema, "The declined request"),
  }), async (c) => {
    const m = need(c, "merchant");
    const body = c.req.valid("json");
    return send(c, pay, 200, await pay.payments.declineRefundRequest({
      refundRequestId: c.req.valid("param").refundRequestId, merchantId: m.merchantId, ...(body.reason ? { reason: body.reason } : {}),
    }));
  });

  app.openapi(createRoute({
    method: "post", path: "/v1/tokens/verify", tags: ["tokens"], summary: "A merchant checks a token online (offline: the JWKS)",
    security: security("merchant"), request: { body: jsonBody(z.strictObject({ token: z.string().max(8192) }).openapi("VerifyToken")) },
    responses: responses(200, z.looseObject({ tokenId: z.string(), merchantId: z.string(), amount: z.unknown(), expiresAt: z.string() }).openapi("VerifiedToken"), "The token's claims"),
  }), (c) => {
    const m = need(c, "merchant");
    try {
      return send(c, pay, 200, pay.tokens.verify(c.req.valid("json").token, { merchantId: m.merchantId }));
    } catch (e) {
      if (isAgentPayError(e)) throw e;
      throw apiError("TOKEN_MALFORMED", "not a token");
    }
  });
}
