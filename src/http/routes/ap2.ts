// A grant as Google AP2's IntentMandate (src/x402/ap2.ts), for the agent to carry into AP2 flows.
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Env } from "../env.ts";
import { apiError } from "../errors.ts";
import { got, subWalletFor } from "../access.ts";
import { need } from "../principal.ts";
import { id } from "../schemas/common.ts";
import { grantIntentMandate } from "../../x402/index.ts";
import type { Deps } from "./define.ts";
import { responses, security } from "./define.ts";

const IntentMandate = z.object({
  user_cart_confirmation_required: z.boolean(),
  natural_language_description: z.string(),
  merchants: z.array(z.string()).nullable(),
  skus: z.array(z.string()).nullable(),
  requires_refundability: z.boolean().nullable(),
  intent_expiry: z.string(),
}).openapi("Ap2IntentMandate", { description: "AP2 IntentMandate (ap2.models.mandate.IntentMandate)." });

export function ap2Routes(app: OpenAPIHono<Env>, { pay }: Deps): void {
  app.openapi(createRoute({
    method: "get", path: "/v1/grants/{grantId}/ap2-intent-mandate", tags: ["grants"], summary: "The grant as an AP2 IntentMandate",
    description: "What the grant lets the agent do, as Google AP2's IntentMandate (docs/X402.md). `signedByUser=true` when the person signs it before the agent carries it: AP2 requires user_cart_confirmation_required unless the user signed.",
    security: security("person", "operator", "agent"),
    request: {
      params: z.object({ grantId: id("gnt", "grant") }),
      query: z.object({
        signedByUser: z.enum(["true", "false"]).optional(),
        maxTtlS: z.coerce.number().int().min(60).max(2_592_000).optional().openapi({ description: "The mandate's longest life, seconds (default 86400)." }),
      }),
    },
    responses: responses(200, IntentMandate, "The IntentMandate"),
  }), (c) => {
    const p = need(c, "person", "operator", "agent");
    const { grantId } = c.req.valid("param");
    const g = got(() => pay.grants.get(grantId), "grant", grantId);
    if (p.kind === "person") subWalletFor(pay, p, g.subWalletId);
    else if (p.kind === "agent" && g.agentId !== p.agentId) throw apiError("NOT_FOUND", "no such grant", { id: grantId });
    const q = c.req.valid("query");
    return c.json(grantIntentMandate(pay, g.id, {
      ...(q.signedByUser !== undefined ? { signedByUser: q.signedByUser === "true" } : {}), ...(q.maxTtlS !== undefined ? { maxTtlMs: q.maxTtlS * 1000 } : {}),
    }) as never, 200);
  });
}
