import { AgentPay } from "../../src/index.ts";
import type { AgentPayOptions, PostgresOptions } from "../../src/index.ts";
import { freshSchema, pgUrl } from "../helpers/pg.ts";

export { freshSchema, pgUrl, sql } from "../helpers/pg.ts";

/** A node on `schema` (a fresh one by default), quick to notice a lost leader, with no background work. */
export function openNode(schema: string, pg: Partial<PostgresOptions> = {}, opts: Partial<AgentPayOptions> = {}): Promise<AgentPay> {
  return AgentPay.open({
    postgres: { url: pgUrl(), schema, leaseMs: 1_000, pollMs: 50, ...pg },
    delivery: false, background: false, risk: "off", ...opts,
  });
}

export { freshSchema as newSchema };

/** Waits until `cond()` holds, checking every 20 ms; fails after `limitMs` (a hang, not a timing claim). */
export async function until(cond: () => boolean | Promise<boolean>, what: string, limitMs = 30_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The payments world of test/payments/helpers.ts, on a PostgreSQL node. */
export async function pgWorld(schema: string, opts: Partial<AgentPayOptions> = {}) {
  const { amount } = await import("../../src/index.ts");
  const usd = (s: string) => amount(s, "USD");
  const pay = await openNode(schema, {}, opts);
  const wallet = await pay.wallets.create({ ownerId: "alice", currency: "USD", timeZone: "UTC" });
  await pay.wallets.deposit(wallet.id, usd("500.00"), { idempotencyKey: "dep-1" });
  const travel = await pay.wallets.createSubWallet(wallet.id, {
    name: "travel", budget: usd("200.00"),
    policy: { perPayment: "150.00", approvalAbove: "100.00", notify: [{ when: "payment" }] },
  });
  const { agent, privateKeyJwk } = await pay.agents.register({ name: "trip-planner" });
  await pay.grants.create({ subWalletId: travel.id, agentId: agent.id, scopes: ["pay"], mode: "persistent" });
  const air = (await pay.merchants.register({ name: "SkyAir", category: "4511", callbackUrl: "https://skyair.example/cb" })).merchant.id;
  const client = pay.agentClient({ agentId: agent.id, privateKeyJwk: privateKeyJwk! });
  return { pay, wallet, travel, agent, privateKeyJwk: privateKeyJwk!, air, client, usd };
}
