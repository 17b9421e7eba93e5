// Merchants: registered by the operator (a callback secret and an API key, each shown once).
import type { Env } from "../env.ts";
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { merchantFor } from "../access.ts";
import { need } from "../principal.ts";
import { PageQuery, id } from "../schemas/common.ts";
import { RegisterMerchant } from "../schemas/inputs.ts";
import { Merchant, MerchantList, MerchantRegistered } from "../schemas/resources.ts";
import type { Deps } from "./define.ts";
import { IdempotencyHeader, jsonBody, page, responses, security, send } from "./define.ts";

const Params = z.object({ merchantId: id("mer", "merchant") });

export function merchantRoutes(app: OpenAPIHono<Env>, { pay }: Deps): void {
  const tags = ["merchants"];
  app.openapi(createRoute({
    method: "post", path: "/v1/merchants", tags, summary: "Register a merchant", security: security("operator"),
    request: { body: jsonBody(RegisterMerchant), headers: IdempotencyHeader },
    responses: responses(201, MerchantRegistered, "The merchant, its callback secret and its first API key (each shown once)"),
  }), async (c) => {
    need(c, "operator");
    const body = c.req.valid("json");
    const { merchant, callbackSecret } = await pay.merchants.register(body);
    const created = await pay.apiKeys.create({ kind: "merchant", merchantId: merchant.id, name: "registration" });
    const { hash: _hash, ...apiKey } = created.apiKey; // never the hash, as the api-keys routes
    return send(c, pay, 201, { merchant, callbackSecret, apiKey: { apiKey, secret: created.secret } });
  });

  app.openapi(createRoute({
    method: "get", path: "/v1/merchants", tags, summary: "List merchants", security: security("operator"),
    request: { query: PageQuery }, responses: responses(200, MerchantList, "Merchants, oldest first"),
  }), (c) => {
    need(c, "operator");
    return send(c, pay, 200, page(pay.merchants.list(), c.req.valid("query")));
  });

  app.openapi(createRoute({
    method: "get", path: "/v1/merchants/{merchantId}", tags, summary: "Get a merchant (a merchant: itself)", security: security("operator", "merchant"),
    request: { params: Params }, responses: responses(200, Merchant, "The merchant"),
  }), (c) => send(c, pay, 200, merchantFor(pay, need(c, "operator", "merchant"), c.req.valid("param").merchantId)));

  for (const [path, status] of [["disable", "disabled"], ["enable", "active"]] as const) {
    app.openapi(createRoute({
      method: "post", path: `/v1/merchants/{merchantId}/${path}`, tags, summary: path === "disable" ? "Disable: no new payments, no redemptions" : "Enable again",
      security: security("operator"), request: { params: Params }, responses: responses(200, Merchant, "The merchant"),
    }), async (c) => {
      const m = merchantFor(pay, need(c, "operator"), c.req.valid("param").merchantId);
      return send(c, pay, 200, await pay.merchants.setStatus(m.id, status));
    });
  }
}
