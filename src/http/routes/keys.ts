// API keys: the operator issues person keys; merchants and persons rotate and revoke their own.
import type { Env } from "../env.ts";
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AgentPay, ApiKey } from "../../index.ts";
import { got, merchantFor } from "../access.ts";
import { apiError } from "../errors.ts";
import { need } from "../principal.ts";
import type { Principal } from "../principal.ts";
import { PageQuery, id } from "../schemas/common.ts";
import { CreateApiKey, RotateApiKey } from "../schemas/inputs.ts";
import { ApiKey as ApiKeySchema, ApiKeyList, ApiKeyWithSecret } from "../schemas/resources.ts";
import type { Deps } from "./define.ts";
import { jsonBody, page, responses, security, send } from "./define.ts";

const OwnerParams = z.object({ ownerId: z.string().min(1).max(255) });
const MerchantParams = z.object({ merchantId: id("mer", "merchant") });
const KeyParams = z.object({ keyId: id("key", "API key") });

/** Never the hash: a key as its owner sees it. */
function shown(k: ApiKey): Omit<ApiKey, "hash"> {
  const { hash: _h, ...rest } = k;
  return rest;
}

function keyFor(pay: AgentPay, p: Principal, keyId: string): ApiKey {
  const k = got(() => pay.apiKeys.get(keyId), "API key", keyId);
  const mine = p.kind === "operator"
    || (p.kind === "person" && k.kind === "person" && k.ownerId === p.ownerId)
    || (p.kind === "merchant" && k.kind === "merchant" && k.merchantId === p.merchantId);
  if (!mine) throw apiError("NOT_FOUND", "no such API key", { id: keyId });
  return k;
}

/**
 * The caller, if its key may manage keys: a key in its grace period (replaced by a rotation) still
 * works, but whoever still holds it must not mint, rotate or revoke keys (its replacement's included).
 */
function manager<P extends Principal>(pay: AgentPay, p: P): P {
  if (p.kind !== "agent" && p.id !== "env" && pay.apiKeys.get(p.id).replacedBy !== undefined) {
    throw apiError("FORBIDDEN", "this key was rotated: manage keys with its replacement");
  }
  return p;
}

export function keyRoutes(app: OpenAPIHono<Env>, { pay }: Deps): void {
  const tags = ["api keys"];
  app.openapi(createRoute({
    method: "post", path: "/v1/persons/{ownerId}/api-keys", tags, summary: "Issue a person key (acts on that owner's wallets only)",
    security: security("operator"), request: { params: OwnerParams, body: jsonBody(CreateApiKey) },
    responses: responses(201, ApiKeyWithSecret, "The key and its secret (shown once)"),
  }), async (c) => {
    manager(pay, need(c, "operator"));
    const body = c.req.valid("json");
    const created = await pay.apiKeys.create({ kind: "person", ownerId: c.req.valid("param").ownerId, ...(body.name ? { name: body.name } : {}) });
    return send(c, pay, 201, { apiKey: shown(created.apiKey), secret: created.secret });
  });

  app.openapi(createRoute({
    method: "get", path: "/v1/persons/{ownerId}/api-keys", tags, summary: "A person's keys", security: security("operator", "person"),
    request: { params: OwnerParams, query: PageQuery }, responses: responses(200, ApiKeyList, "Keys, newest first"),
  }), (c) => {
    const p = need(c, "operator", "person");
    const { ownerId } = c.req.valid("param");
    if (p.kind === "person" && p.ownerId !== ownerId) throw apiError("NOT_FOUND", "no such person", { ownerId });
    return send(c, pay, 200, page(pay.apiKeys.list({ kind: "person", ownerId }).map(shown), c.req.valid("query")));
  });

  app.openapi(createRoute({
    method: "post", path: "/v1/merchants/{merchantId}/api-keys", tags, summary: "Issue another key for a merchant", security: security("operator", "merchant"),
    request: { params: MerchantParams, body: jsonBody(CreateApiKey) }, responses: responses(201, ApiKeyWithSecret, "The key and its secret (shown once)"),
  }), async (c) => {
    const m = merchantFor(pay, manager(pay, need(c, "operator", "merchant")), c.req.valid("param").merchantId);
    const body = c.req.valid("json");
    const created = await pay.apiKeys.create({ kind: "merchant", merchantId: m.id, ...(body.name ? { name: body.name } : {}) });
    return send(c, pay, 201, { apiKey: shown(created.apiKey), secret: created.secret });
  });

  app.openapi(createRoute({
    method: "get", path: "/v1/merchants/{merchantId}/api-keys", tags, summary: "A merchant's keys", security: security("operator", "merchant"),
    request: { params: MerchantParams, query: PageQuery }, responses: responses(200, ApiKeyList, "Keys, newest first"),
  }), (c) => {
    const m = merchantFor(pay, need(c, "operator", "merchant"), c.req.valid("param").merchantId);
    return send(c, pay, 200, page(pay.apiKeys.list({ kind: "merchant", merchantId: m.id }).map(shown), c.req.valid("query")));
  });

  app.openapi(createRoute({
    method: "post", path: "/v1/operator/api-keys", tags, summary: "Issue another operator key", security: security("operator"),
    request: { body: jsonBody(CreateApiKey) }, responses: responses(201, ApiKeyWithSecret, "The key and its secret (shown once)"),
  }), async (c) => {
    manager(pay, need(c, "operator"));
    const body = c.req.valid("json");
    const created = await pay.apiKeys.create({ kind: "operator", ...(body.name ? { name: body.name } : {}) });
    return send(c, pay, 201, { apiKey: shown(created.apiKey), secret: created.secret });
  });

  app.openapi(createRoute({
    method: "post", path: "/v1/api-keys/{keyId}/rotate", tags, summary: "Rotate a key: a new secret; the old one works for `grace`",
    security: security("operator", "person", "merchant"), request: { params: KeyParams, body: jsonBody(RotateApiKey) },
    responses: responses(201, ApiKeyWithSecret, "The new key and its secret (shown once)"),
  }), async (c) => {
    const k = keyFor(pay, manager(pay, need(c, "operator", "person", "merchant")), c.req.valid("param").keyId);
    const grace = c.req.valid("json").grace;
    const created = await pay.apiKeys.rotate(k.id, grace ? { grace } : {});
    return send(c, pay, 201, { apiKey: shown(created.apiKey), secret: created.secret });
  });

  app.openapi(createRoute({
    method: "post", path: "/v1/api-keys/{keyId}/revoke", tags, summary: "Revoke a key at once", security: security("operator", "person", "merchant"),
    request: { params: KeyParams }, responses: responses(200, ApiKeySchema, "The revoked key"),
  }), async (c) => {
    const k = keyFor(pay, manager(pay, need(c, "operator", "person", "merchant")), c.req.valid("param").keyId);
    return send(c, pay, 200, shown(await pay.apiKeys.revoke(k.id)));
  });
}
