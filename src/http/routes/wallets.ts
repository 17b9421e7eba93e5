// Wallets and sub-wallets: the person's side (and the operator's).
import type { Env } from "../env.ts";
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { parseAmount } from "../../index.ts";
import type { AgentPay, PolicyInput } from "../../index.ts";
import { subWalletFor, walletFor } from "../access.ts";
import { apiError } from "../errors.ts";
import { need } from "../principal.ts";
import type { Principal } from "../principal.ts";
import { PageQuery, id } from "../schemas/common.ts";
import { CreateSubWallet, CreateWallet, Freeze, MoneyMove, PolicyInput as PolicyBody } from "../schemas/inputs.ts";
import { Balance, Budget, Statement, SubWallet, SubWalletList, Transfer, Wallet, WalletList } from "../schemas/resources.ts";
import type { Deps } from "./define.ts";
import { IdempotencyHeader, RequiredIdempotencyHeader, idempotencyKeyOf, jsonBody, page, responses, security, send } from "./define.ts";

const WalletParams = z.object({ walletId: id("wal", "wallet") });
const SubWalletParams = z.object({ subWalletId: id("sw", "sub-wallet") });
const StatementQuery = z.object({ cursor: z.string().max(256).optional(), limit: z.coerce.number().int().min(1).max(500).optional() });

const money = (pay: AgentPay, m: { value: string; currency: string }) => parseAmount(m.value, m.currency, pay.currencies);

/**
 * A sub-wallet as this caller may see it, read back after any change: notification channel secrets
 * redacted (getSubWallet); an agent sees no notification channels at all (their URLs and headers may
 * hold the person's credentials for the receiving service).
 */
function shown(pay: AgentPay, p: Principal, subWalletId: string) {
  const sw = pay.wallets.getSubWallet(subWalletId);
  if (p.kind !== "agent" || sw.policy.notify === undefined) return sw;
  const { notify: _n, ...policy } = sw.policy;
  return { ...sw, policy };
}

export function walletRoutes(app: OpenAPIHono<Env>, { pay }: Deps): void {
  const tags = ["wallets"];
  app.openapi(createRoute({
    method: "post", path: "/v1/wallets", tags, summary: "Create a wallet", security: security("person", "operator"),
    request: { body: jsonBody(CreateWallet), headers: IdempotencyHeader }, responses: responses(201, Wallet, "The wallet"),
  }), async (c) => {
    const p = need(c, "person", "operator");
    const body = c.req.valid("json");
    if (p.kind === "person" && body.ownerId !== undefined && body.ownerId !== p.ownerId) throw apiError("FORBIDDEN", "a person key creates its own owner's wallets");
    const ownerId = p.kind === "person" ? p.ownerId : body.ownerId;
    if (ownerId === undefined) throw apiError("INVALID_INPUT", "ownerId is required", { field: "ownerId" });
    return send(c, pay, 201, await pay.wallets.create({ ownerId, currency: body.currency, timeZone: body.timeZone }));
  });

  app.openapi(createRoute({
    method: "get", path: "/v1/wallets", tags, summary: "List a person's wallets", security: security("person", "operator"),
    request: { query: PageQuery.extend({ ownerId: z.string().max(255).optional() }) }, responses: responses(200, WalletList, "Wallets, oldest first"),
  }), (c) => {
    const p = need(c, "person", "operator");
    const q = c.req.valid("query");
    const ownerId = p.kind === "person" ? p.ownerId : q.ownerId;
    if (ownerId === undefined) throw apiError("INVALID_INPUT", "ownerId is required", { field: "ownerId" });
    if (p.kind === "person" && q.ownerId !== undefined && q.ownerId !== p.ownerId) throw apiError("FORBIDDEN", "a person key lists its own wallets");
    const all = pay.wallets.list({ ownerId }).sort((a, b) => a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : 1));
    return send(c, pay, 200, page(all, q));
  });

  app.openapi(createRoute({
    method: "get", path: "/v1/wallets/{walletId}", tags, summary: "Get a wallet", security: security("person", "operator"),
    request: { params: WalletParams }, responses: responses(200, Wallet, "The wallet"),
  }), (c) => send(c, pay, 200, walletFor(pay, need(c, "person", "operator"), c.req.valid("param").walletId)));

  for (const [kind, verb] of [["deposits", "deposit"], ["withdrawals", "withdraw"]] as const) {
    app.openapi(createRoute({
      method: "post", path: `/v1/wallets/{walletId}/${kind}`, tags,
      summary: verb === "deposit" ? "Deposit into a wallet (from outside)" : "Withdraw from a wallet (to outside)",
      security: security("person", "operator"),
      request: { params: WalletParams, body: jsonBody(MoneyMove), headers: RequiredIdempotencyHeader },
      responses: responses(201, Transfer, "The ledger transfer"),
    }), async (c) => {
      const w = walletFor(pay, need(c, "person", "operator"), c.req.valid("param").walletId);
      const amount = money(pay, c.req.valid("json").amount);
      return send(c, pay, 201, await pay.wallets[verb](w.id, amount, { idempotencyKey: idempotencyKeyOf(c) }));
    });
  }

  app.openapi(createRoute({
    method: "get", path: "/v1/wallets/{walletId}/balance", tags, summary: "A wallet's balance", security: security("person", "operator"),
    request: { params: WalletParams }, responses: responses(200, Balance, "Posted, pending and available"),
  }), (c) => send(c, pay, 200, pay.wallets.balance(walletFor(pay, need(c, "person", "operator"), c.req.valid("param").walletId).id)));

  app.openapi(createRoute({
    method: "get", path: "/v1/wallets/{walletId}/statement", tags, summary: "A wallet's statement", security: security("person", "operator"),
    request: { params: WalletParams, query: StatementQuery }, responses: responses(200, Statement, "Entries with running balances, oldest first"),
  }), (c) => {
    const w = walletFor(pay, need(c, "person", "operator"), c.req.valid("param").walletId);
    const q = c.req.valid("query");
    return send(c, pay, 200, pay.wallets.statement(w.id, { ...(q.cursor ? { cursor: q.cursor } : {}), ...(q.limit ? { limit: q.limit } : {}) }));
  });

  app.openapi(createRoute({
    method: "post", path: "/v1/wallets/{walletId}/sub-wallets", tags: ["sub-wallets"], summary: "Create a sub-wallet (budget and policy)",
    security: security("person", "operator"),
    request: { params: WalletParams, body: jsonBody(CreateSubWallet), headers: IdempotencyHeader },
    responses: responses(201, SubWallet, "The sub-wallet"),
  }), async (c) => {
    const p = need(c, "person", "operator");
    const w = walletFor(pay, p, c.req.valid("param").walletId);
    const body = c.req.valid("json");
    const key = c.get("idempotencyKey");
    return send(c, pay, 201, shown(pay, p, (await pay.wallets.createSubWallet(w.id, {
      name: body.name, ...(body.budget ? { budget: money(pay, body.budget) } : {}), ...(body.policy ? { policy: body.policy as PolicyInput } : {}),
      ...(key ? { idempotencyKey: key } : {}),
    })).id));
  });

  app.openapi(createRoute({
    method: "get", path: "/v1/wallets/{walletId}/sub-wallets", tags: ["sub-wallets"], summary: "List a wallet's sub-wallets",
    security: security("person", "operator"), request: { params: WalletParams, query: PageQuery },
    responses: responses(200, SubWalletList, "Sub-wallets, oldest first"),
  }), (c) => {
    const w = walletFor(pay, need(c, "person", "operator"), c.req.valid("param").walletId);
    const all = pay.wallets.listSubWallets(w.id).sort((a, b) => a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : 1));
    return send(c, pay, 200, page(all, c.req.valid("query")));
  });

  const swTags = ["sub-wallets"];
  app.openapi(createRoute({
    method: "get", path: "/v1/sub-wallets/{subWalletId}", tags: swTags, summary: "Get a sub-wallet",
    security: security("person", "operator", "agent"), request: { params: SubWalletParams }, responses: responses(200, SubWallet, "The sub-wallet"),
  }), (c) => {
    const p = need(c, "person", "operator", "agent");
    return send(c, pay, 200, shown(pay, p, subWalletFor(pay, p, c.req.valid("param").subWalletId).id));
  });

  app.openapi(createRoute({
    method: "put", path: "/v1/sub-wallets/{subWalletId}/policy", tags: swTags, summary: "Replace a sub-wallet's policy (a new version)",
    security: security("person", "operator"), request: { params: SubWalletParams, body: jsonBody(PolicyBody) },
    responses: responses(200, SubWallet, "The sub-wallet with its new policy"),
  }), async (c) => {
    const p = need(c, "person", "operator");
    const sw = subWalletFor(pay, p, c.req.valid("param").subWalletId);
    await pay.wallets.updatePolicy(sw.id, c.req.valid("json") as PolicyInput);
    return send(c, pay, 200, shown(pay, p, sw.id));
  });

  for (const [path, verb, summary] of [["fund", "fundSubWallet", "Move money from the wallet into the sub-wallet"], ["defund", "defundSubWallet", "Move money back to the wallet"]] as const) {
    app.openapi(createRoute({
      method: "post", path: `/v1/sub-wallets/{subWalletId}/${path}`, tags: swTags, summary, security: security("person", "operator"),
      request: { params: SubWalletParams, body: jsonBody(MoneyMove), headers: RequiredIdempotencyHeader },
      responses: responses(201, Transfer, "The ledger transfer"),
    }), async (c) => {
      const sw = subWalletFor(pay, need(c, "person", "operator"), c.req.valid("param").subWalletId);
      return send(c, pay, 201, await pay.wallets[verb](sw.id, money(pay, c.req.valid("json").amount), { idempotencyKey: idempotencyKeyOf(c) }));
    });
  }

  for (const [path, summary] of [
    ["freeze", "Freeze (kill switch): every next payment from it is refused"], ["unfreeze", "Unfreeze"], ["close", "Close: the rest returns to the wallet"],
  ] as const) {
    app.openapi(createRoute({
      method: "post", path: `/v1/sub-wallets/{subWalletId}/${path}`, tags: swTags, summary, security: security("person", "operator"),
      request: { params: SubWalletParams, body: { required: false, content: { "application/json": { schema: Freeze } } } },
      responses: responses(200, SubWallet, "The sub-wallet"),
    }), async (c) => {
      const p = need(c, "person", "operator");
      const sw = subWalletFor(pay, p, c.req.valid("param").subWalletId);
      await pay.wallets[path](sw.id);
      return send(c, pay, 200, shown(pay, p, sw.id));
    });
  }

  app.openapi(createRoute({
    method: "get", path: "/v1/sub-wallets/{subWalletId}/budget", tags: swTags, summary: "What is used and left in each budget window",
    security: security("person", "operator", "agent"), request: { params: SubWalletParams }, responses: responses(200, Budget, "The budget windows"),
  }), (c) => send(c, pay, 200, pay.wallets.budget(subWalletFor(pay, need(c, "person", "operator", "agent"), c.req.valid("param").subWalletId).id)));

  app.openapi(createRoute({
    method: "get", path: "/v1/sub-wallets/{subWalletId}/balance", tags: swTags, summary: "A sub-wallet's balance",
    security: security("person", "operator", "agent"), request: { params: SubWalletParams }, responses: responses(200, Balance, "Posted, pending and available"),
  }), (c) => {
    const p = need(c, "person", "operator", "agent");
    const sw = subWalletFor(pay, p, c.req.valid("param").subWalletId);
    if (p.kind === "agent" && !pay.grants.list({ agentId: p.agentId, subWalletId: sw.id, activeOnly: true }).some((g) => g.scopes.includes("balance:read"))) {
      throw apiError("FORBIDDEN", "the agent's grant on this sub-wallet does not include balance:read", { scope: "balance:read" });
    }
    return send(c, pay, 200, pay.wallets.balance(sw.id));
  });

  app.openapi(createRoute({
    method: "get", path: "/v1/sub-wallets/{subWalletId}/statement", tags: swTags, summary: "A sub-wallet's statement",
    security: security("person", "operator"), request: { params: SubWalletParams, query: StatementQuery },
    responses: responses(200, Statement, "Entries with running balances, oldest first"),
  }), (c) => {
    const sw = subWalletFor(pay, need(c, "person", "operator"), c.req.valid("param").subWalletId);
    const q = c.req.valid("query");
    return send(c, pay, 200, pay.wallets.statement(sw.id, { ...(q.cursor ? { cursor: q.cursor } : {}), ...(q.limit ? { limit: q.limit } : {}) }));
  });
}
