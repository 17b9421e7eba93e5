// The Agentic Commerce Protocol's delegated payment, with agentpay as the payment provider
// (src/x402/acp.ts says how an allowance maps onto a grant-limited payment). ACP's own error shape,
// not agentpay's: the route parses its body itself.
import { z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Env } from "../env.ts";
import type { AppOptions } from "../options.ts";
import { rateLimit } from "../middleware/rate-limit.ts";
import { AcpDelegatePaymentRequest, AcpDelegatePaymentResponse, AcpDelegatedPayments, AcpError } from "../../x402/index.ts";
import type { Deps } from "./define.ts";

const PATH = "/agentic_commerce/delegate_payment";

export function acpRoutes(app: OpenAPIHono<Env>, { pay, maxWaitS }: Deps, options: AppOptions = {}): void {
  const acp = new AcpDelegatedPayments(pay, { approvalWaitMs: Math.min(20, maxWaitS) * 1000 });
  app.openAPIRegistry.registerComponent("securitySchemes", "acpSignedIntent", {
    type: "http", scheme: "bearer", bearerFormat: "agentpay signed payment intent (compact JWS)",
    description: "ACP's bearer token: for agentpay, the agent's signed payment intent (not a secret) matching the allowance (docs/X402.md).",
  });
  const err = (description: string) => ({ description, content: { "application/json": { schema: AcpError } } });
  app.openAPIRegistry.registerPath({
    method: "post", path: PATH, tags: ["agentic commerce (ACP)"], summary: "ACP: delegate a payment (an allowance → a single-use token)",
    description: "ACP delegate_payment (API-Version 2026-04-17 and earlier). `payment_method` is `{ type: card, card_number_type: network_token, number: <sub-wallet id>, display_card_funding_type: prepaid, metadata }`; `Authorization: Bearer <the agent's signed payment intent>` for exactly the allowance (merchant_id = agentpay merchant id, max_amount in minor units, reference = checkout_session_id, idempotencyKey = Idempotency-Key). 201: `id` is the payment's Token Pay token, which merchant_id redeems (POST /v1/payments/redeem). 409 idempotency_in_flight while the person has not approved: repeat the request. Errors are ACP's flat objects; AgentPay-Error-Code carries agentpay's code.",
    security: [{ acpSignedIntent: [] }],
    request: {
      headers: z.object({
        "api-version": z.string().openapi({ example: "2026-04-17" }),
        "idempotency-key": z.string().min(1).max(255),
      }),
      body: { required: true, content: { "application/json": { schema: AcpDelegatePaymentRequest } } },
    },
    responses: {
      201: { description: "Created: the vault token", content: { "application/json": { schema: AcpDelegatePaymentResponse } } },
      400: err("Bad request (a field, API-Version, Idempotency-Key)"), 401: err("No or a bad signed intent"), 409: err("The same key is in flight, or the payment waits for the person (Retry-After)"),
      413: { description: "Body too large" }, 422: err("Refused: declined by the rules, the intent does not match the allowance, idempotency conflict"),
      429: err("Rate limited"), 500: err("Processing error"), 503: err("Unavailable"),
    },
  });
  if (options.rateLimit !== false) app.use(PATH, rateLimit(options.rateLimit || {}));
  app.post(PATH, async (c) => {
    const a = await acp.handle({
      authorization: c.req.header("authorization"), apiVersion: c.req.header("api-version"), idempotencyKey: c.req.header("idempotency-key"),
      contentType: c.req.header("content-type"), body: await c.req.text(),
    });
    return new Response(JSON.stringify(a.body), { status: a.status, headers: { "content-type": "application/json; charset=utf-8", ...a.headers } });
  });
}
