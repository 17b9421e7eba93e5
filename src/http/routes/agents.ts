// Agents (identities with registered public keys) and grants (a person's delegation of a sub-wallet).
import type { Env } from "../env.ts";
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Agent as AgentRecord, AgentPay, Grant } from "../../index.ts";
import { agentFor, got, subWalletFor } from "../access.ts";
import { apiError } from "../errors.ts";
import { need } from "../principal.ts";
import type { Principal } from "../principal.ts";
import { PageQuery, id } from "../schemas/common.ts";
import { CreateGrant, RegisterAgent, RotateAgentKey } from "../schemas/inputs.ts";
import { Agent, AgentList, AgentWithKey, Grant as GrantSchema, GrantList } from "../schemas/resources.ts";
import type { Deps } from "./define.ts";
import { IdempotencyHeader, jsonBody, page, responses, security, send } from "./define.ts";

const AgentParams = z.object({ agentId: id("agt", "agent") });
const GrantParams = z.object({ grantId: id("gnt", "grant") });

/** The grants a caller may see: the operator all, a person those on its sub-wallets, an agent its own. */
function visibleGrants(pay: AgentPay, p: Principal, q: { subWalletId?: string | undefined; agentId?: string | undefined }): Grant[] {
  if (p.kind === "agent") {
    if (q.agentId !== undefined && q.agentId !== p.agentId) return [];
    return pay.grants.list({ agentId: p.agentId, ...(q.subWalletId ? { subWalletId: q.subWalletId } : {}), limit: 10_000 });
  }
  if (p.kind === "person") {
    const subWallets = q.subWalletId !== undefined
      ? [subWalletFor(pay, p, q.subWalletId).id]
      : pay.wallets.list({ ownerId: p.ownerId }).flatMap((w) => pay.wallets.listSubWallets(w.id).map((s) => s.id));
    return subWallets.flatMap((sw) => pay.grants.list({ subWalletId: sw, ...(q.agentId ? { agentId: q.agentId } : {}), limit: 10_000 }));
  }
  return pay.grants.list({ ...(q.subWalletId ? { subWalletId: q.subWalletId } : {}), ...(q.agentId ? { agentId: q.agentId } : {}), limit: 10_000 });
}

/** The agent's keys are managed by its person, the operator, or the agent with its active key (a replaced key still signs during its grace, but must not mint or revoke keys). */
function keyManager(p: Principal, a: AgentRecord): void {
  if (p.kind === "agent" && p.kid !== a.activeKid) throw apiError("FORBIDDEN", "only the agent's active key manages its keys", { kid: p.kid ?? null });
}

function grantFor(pay: AgentPay, p: Principal, grantId: string): Grant {
  const g = got(() => pay.grants.get(grantId), "grant", grantId);
  if (p.kind === "operator" || (p.kind === "agent" && g.agentId === p.agentId)) return g;
  if (p.kind === "person") {
    subWalletFor(pay, p, g.subWalletId); // 404 unless the person owns the sub-wallet
    return g;
  }
  throw apiError("NOT_FOUND", "no such grant", { id: grantId });
}

export function agentRoutes(app: OpenAPIHono<Env>, { pay }: Deps): void {
  const tags = ["agents"];
  app.openapi(createRoute({
    method: "post", path: "/v1/agents", tags, summary: "Register an agent (its public key, or a generated pair)",
    security: security("person", "operator"), request: { body: jsonBody(RegisterAgent), headers: IdempotencyHeader },
    responses: responses(201, AgentWithKey, "The agent (and its private key, once, if the server generated it)"),
  }), async (c) => {
    const p = need(c, "person", "operator");
    const body = c.req.valid("json");
    if (p.kind === "person" && body.ownerId !== undefined && body.ownerId !== p.ownerId) throw apiError("FORBIDDEN", "a person registers agents it manages itself");
    const ownerId = p.kind === "person" ? p.ownerId : body.ownerId;
    return send(c, pay, 201, await pay.agents.register({
      name: body.name, ...(ownerId !== undefined ? { ownerId } : {}), ...(body.publicKeyJwk ? { publicKeyJwk: body.publicKeyJwk } : {}),
      ...(body.alg ? { alg: body.alg } : {}),
    }));
  });

  app.openapi(createRoute({
    method: "get", path: "/v1/agents", tags, summary: "List agents (a person: those it registered)", security: security("person", "operator"),
    request: { query: PageQuery }, responses: responses(200, AgentList, "Agents, oldest first"),
  }), (c) => {
    const p = need(c, "person", "operator");
    const all = pay.agents.list(p.kind === "person" ? { ownerId: p.ownerId } : {})
      .sort((a, b) => a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : 1));
    return send(c, pay, 200, page(all, c.req.valid("query")));
  });

  app.openapi(createRoute({
    method: "get", path: "/v1/agents/{agentId}", tags, summary: "Get an agent", security: security("person", "operator", "agent"),
    request: { params: AgentParams }, responses: responses(200, Agent, "The agent and its public keys"),
  }), (c) => send(c, pay, 200, agentFor(pay, need(c, "person", "operator", "agent"), c.req.valid("param").agentId)));

  app.openapi(createRoute({
    method: "post", path: "/v1/agents/{agentId}/keys", tags, summary: "Rotate the agent's key (the old one keeps verifying for `grace`)",
    security: security("person", "operator", "agent"), request: { params: AgentParams, body: jsonBody(RotateAgentKey) },
    responses: responses(201, AgentWithKey, "The agent with its new active key"),
  }), async (c) => {
    const p = need(c, "person", "operator", "agent");
    const a = agentFor(pay, p, c.req.valid("param").agentId);
    keyManager(p, a);
    const body = c.req.valid("json");
    return send(c, pay, 201, await pay.agents.rotateKey(a.id, {
      ...(body.publicKeyJwk ? { publicKeyJwk: body.publicKeyJwk } : {}), ...(body.alg ? { alg: body.alg } : {}), ...(body.grace ? { grace: body.grace } : {}),
    }));
  });

  app.openapi(createRoute({
    method: "post", path: "/v1/agents/{agentId}/keys/{kid}/revoke", tags, summary: "Revoke one of the agent's keys at once",
    security: security("person", "operator", "agent"), request: { params: AgentParams.extend({ kid: z.string().min(1).max(128) }) },
    responses: responses(200, Agent, "The agent"),
  }), async (c) => {
    const { agentId, kid } = c.req.valid("param");
    const p = need(c, "person", "operator", "agent");
    const a = agentFor(pay, p, agentId);
    keyManager(p, a);
    return send(c, pay, 200, await pay.agents.revokeKey(a.id, kid));
  });

  app.openapi(createRoute({
    method: "post", path: "/v1/agents/{agentId}/disable", tags, summary: "Disable the agent: every next request of it is refused",
    security: security("person", "operator"), request: { params: AgentParams }, responses: responses(200, Agent, "The agent"),
  }), async (c) => {
    const a = agentFor(pay, need(c, "person", "operator"), c.req.valid("param").agentId);
    return send(c, pay, 200, await pay.agents.disable(a.id));
  });

  const gTags = ["grants"];
  app.openapi(createRoute({
    method: "post", path: "/v1/grants", tags: gTags, summary: "Grant an agent a sub-wallet (scopes, session or persistent)",
    security: security("person", "operator"), request: { body: jsonBody(CreateGrant), headers: IdempotencyHeader },
    responses: responses(201, GrantSchema, "The grant"),
  }), async (c) => {
    const p = need(c, "person", "operator");
    const body = c.req.valid("json");
    const sw = subWalletFor(pay, p, body.subWalletId);
    got(() => pay.agents.get(body.agentId), "agent", body.agentId);
    return send(c, pay, 201, await pay.grants.create({
      subWalletId: sw.id, agentId: body.agentId, scopes: body.scopes, mode: body.mode,
      ...(body.expiresIn ? { expiresIn: body.expiresIn } : {}), ...(body.maxUses !== undefined ? { maxUses: body.maxUses } : {}),
    }));
  });

  app.openapi(createRoute({
    method: "get", path: "/v1/grants", tags: gTags, summary: "List grants (a person: on its sub-wallets; an agent: its own)",
    security: security("person", "operator", "agent"),
    request: { query: PageQuery.extend({ subWalletId: z.string().max(80).optional(), agentId: z.string().max(80).optional() }) },
    responses: responses(200, GrantList, "Grants, oldest first"),
  }), (c) => {
    const p = need(c, "person", "operator", "agent");
    const q = c.req.valid("query");
    const all = visibleGrants(pay, p, q).sort((a, b) => a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : 1));
    return send(c, pay, 200, page(all, q));
  });

  app.openapi(createRoute({
    method: "get", path: "/v1/grants/{grantId}", tags: gTags, summary: "Get a grant", security: security("person", "operator", "agent"),
    request: { params: GrantParams }, responses: responses(200, GrantSchema, "The grant"),
  }), (c) => send(c, pay, 200, grantFor(pay, need(c, "person", "operator", "agent"), c.req.valid("param").grantId)));

  app.openapi(createRoute({
    method: "post", path: "/v1/grants/{grantId}/revoke", tags: gTags, summary: "Revoke a grant at once",
    security: security("person", "operator"), request: { params: GrantParams }, responses: responses(200, GrantSchema, "The revoked grant"),
  }), async (c) => {
    const g = grantFor(pay, need(c, "person", "operator"), c.req.valid("param").grantId);
    return send(c, pay, 200, await pay.grants.revoke(g.id));
  });
}
