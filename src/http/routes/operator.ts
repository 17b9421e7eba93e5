// The operator's tools: the risk engine's rules and drain breaker, the ledger's invariant check, and
// reconciling the settlement contract with the ledger.
import type { Env } from "../env.ts";
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { apiError } from "../errors.ts";
import { need } from "../principal.ts";
import type { Deps } from "./define.ts";
import { jsonBody, responses, security, send } from "./define.ts";

const Any = z.record(z.string(), z.unknown());

export function operatorRoutes(app: OpenAPIHono<Env>, { pay }: Deps): void {
  const risk = () => {
    if (!pay.risk) throw apiError("NOT_FOUND", "this server runs without the built-in risk engine");
    return pay.risk;
  };
  app.openapi(createRoute({
    method: "get", path: "/v1/risk/rules", tags: ["risk"], summary: "The rule set in force", security: security("operator"),
    responses: responses(200, Any.openapi("RuleSet"), "The rule set (JSON, versioned)"),
  }), (c) => {
    need(c, "operator");
    return send(c, pay, 200, risk().rules);
  });
  app.openapi(createRoute({
    method: "put", path: "/v1/risk/rules", tags: ["risk"], summary: "Load a rule set (validated; a bad one is refused and the old one stays)",
    description: "Applies to this server process until it restarts; start the server with the rule set to keep it.",
    security: security("operator"), request: { body: jsonBody(Any) }, responses: responses(200, Any, "The rule set now in force"),
  }), (c) => {
    need(c, "operator");
    risk().loadRules(c.req.valid("json"));
    return send(c, pay, 200, risk().rules);
  });
  app.openapi(createRoute({
    method: "get", path: "/v1/risk/breaker", tags: ["risk"], summary: "The drain circuit breaker", security: security("operator"),
    responses: responses(200, Any.openapi("BreakerStatus"), "Whether it is open, globally and per person"),
  }), (c) => {
    need(c, "operator");
    return send(c, pay, 200, risk().breakerStatus());
  });
  app.openapi(createRoute({
    method: "post", path: "/v1/risk/breaker/reset", tags: ["risk"], summary: "Close the breaker (globally, or for one person)", security: security("operator"),
    request: { body: { required: false, content: { "application/json": { schema: z.strictObject({ ownerId: z.string().max(255).optional() }) } } } },
    responses: responses(200, Any, "The breaker's status"),
  }), (c) => {
    need(c, "operator");
    const ownerId = (c.req.valid("json") as { ownerId?: string } | undefined)?.ownerId;
    risk().resetBreaker(ownerId);
    return send(c, pay, 200, risk().breakerStatus());
  });
  app.openapi(createRoute({
    method: "post", path: "/v1/chain/reconcile", tags: ["chain"], summary: "Compare the settlement contract's balances with the ledger's mirrors",
    description: "Reads the escrow at the watcher's cursor (or `blockNumber`) through the given RPC endpoint. Needs a server started with the chain bridge (`agentpay serve --chain`).",
    security: security("operator"),
    request: { body: jsonBody(z.strictObject({
      rpcUrl: z.string().url().max(2048), settlement: z.string().regex(/^0x[0-9a-fA-F]{40}$/), blockNumber: z.string().regex(/^\d{1,20}$/).optional(),
    }).openapi("Reconcile")) },
    responses: responses(200, Any.openapi("ReconcileReport"), "ok, and every difference (on-chain − ledger)", [501]),
  }), async (c) => {
    need(c, "operator");
    const body = c.req.valid("json");
    const chain = pay.chain; // CHAIN_NOT_ENABLED (501) without --chain
    const { createPublicClient, http } = await import("viem");
    const publicClient = createPublicClient({ transport: http(body.rpcUrl, { timeout: 20_000, retryCount: 1 }) });
    return send(c, pay, 200, await chain.reconcile({
      publicClient: publicClient as never, settlement: body.settlement as `0x${string}`, ...(body.blockNumber ? { blockNumber: BigInt(body.blockNumber) } : {}),
    }));
  });

  app.openapi(createRoute({
    method: "get", path: "/v1/ledger/check", tags: ["ledger"], summary: "Prove the ledger's invariants (Σ debits = Σ credits, limits)",
    security: security("operator"), responses: responses(200, Any.openapi("InvariantReport"), "ok and every problem found"),
  }), (c) => {
    need(c, "operator");
    return send(c, pay, 200, pay.ledger.check());
  });
}
