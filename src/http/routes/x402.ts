// agentpay as an x402 facilitator for its ledger scheme (x402 v2 §7): a merchant running a stock x402
// server points its facilitator client at `<agentpay>/x402` with its merchant API key
// (`Authorization: Bearer …`). verify and settle answer 200 with isValid / success false and an x402-style
// reason for a payment that does not pay (docs/X402.md lists them); malformed requests are 400.
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Env } from "../env.ts";
import type { AppOptions } from "../options.ts";
import { apiError } from "../errors.ts";
import { authenticate, need } from "../principal.ts";
import { rateLimit } from "../middleware/rate-limit.ts";
import { AgentPayFacilitator, FacilitatorRequestSchema, SettleResponseSchema, SupportedResponseSchema, VerifyResponseSchema } from "../../x402/index.ts";
import type { Deps } from "./define.ts";
import { jsonBody, responses, security } from "./define.ts";

const KEY_RE = /^[A-Za-z0-9._:~\-/]{1,128}$/;

export function x402Routes(app: OpenAPIHono<Env>, { pay }: Deps, options: AppOptions = {}): void {
  const facilitator = new AgentPayFacilitator(pay);
  const tags = ["x402"];
  app.use("/x402/*", authenticate(pay, options.operatorKeys ?? []));
  if (options.rateLimit !== false) app.use("/x402/*", rateLimit(options.rateLimit || {}));

  /** The authenticated merchant, who must be the one the requirements pay. */
  const merchantFor = (c: Parameters<typeof need>[0], payTo: string): string => {
    const m = need(c, "merchant");
    if (payTo !== m.merchantId) throw apiError("FORBIDDEN", "paymentRequirements.payTo is not your merchant id", { field: "paymentRequirements.payTo" });
    return m.merchantId;
  };

  app.openapi(createRoute({
    method: "get", path: "/x402/supported", tags, summary: "x402: the schemes and networks this facilitator settles",
    description: "`agentpay-token` on this issuer's ledger rail `agentpay:<issuer>` (CAIP-2), with `extra.issuer`. Public.",
    responses: { 200: { description: "x402 v2 SupportedResponse", content: { "application/json": { schema: SupportedResponseSchema } } } },
  }), (c) => c.json(facilitator.supported() as never, 200));

  app.openapi(createRoute({
    method: "post", path: "/x402/verify", tags, summary: "x402: does this payment pay these requirements? (nothing moves)",
    description: "The merchant's API key; `paymentRequirements.payTo` must be its merchant id. 200 with `isValid` and, when false, `invalidReason`.",
    security: security("merchant"), request: { body: jsonBody(FacilitatorRequestSchema) },
    responses: responses(200, VerifyResponseSchema, "x402 v2 VerifyResponse"),
  }), (c) => {
    const body = c.req.valid("json");
    const merchantId = merchantFor(c, body.paymentRequirements.payTo);
    return c.json(facilitator.verify(merchantId, body.paymentPayload, body.paymentRequirements) as never, 200);
  });

  app.openapi(createRoute({
    method: "post", path: "/x402/settle", tags, summary: "x402: settle the payment (redeem its token: capture exactly once)",
    description: "The merchant's API key. Exactly one settle of a token succeeds; another is `success: false` with `token_already_redeemed`. A retry with the same Idempotency-Key gets the first answer (durably). `transaction` is the agentpay payment id.",
    security: security("merchant"),
    request: {
      body: jsonBody(FacilitatorRequestSchema),
      headers: z.object({ "idempotency-key": z.string().max(255).optional().openapi({ description: "Retries with the same key get the first answer; without one, each call is its own attempt." }) }),
    },
    responses: responses(200, SettleResponseSchema, "x402 v2 SettleResponse"),
  }), async (c) => {
    const body = c.req.valid("json");
    const merchantId = merchantFor(c, body.paymentRequirements.payTo);
    const key = c.req.header("idempotency-key");
    if (key !== undefined && !KEY_RE.test(key)) throw apiError("INVALID_INPUT", "Idempotency-Key must be 1-128 characters A-Z a-z 0-9 . _ : ~ - /", { field: "Idempotency-Key" });
    const settled = await facilitator.settle(merchantId, body.paymentPayload, body.paymentRequirements, key !== undefined ? { idempotencyKey: `x402:${key}` } : {});
    return c.json(settled.response as never, 200);
  });
}
