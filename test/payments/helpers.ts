import { AgentPay, ManualClock, amount } from "../../src/index.ts";
import { MemoryStore } from "../../src/engine/index.ts";
import type { AgentPayOptions } from "../../src/index.ts";

export const usd = (s: string) => amount(s, "USD");

/**
 * A person with a funded wallet, a "travel" sub-wallet with limits, an agent with a
 * pay grant, and three merchants (an airline, a hotel, a casino the policy blocks).
 */
export async function world(opts: Partial<AgentPayOptions> = {}) {
  const store = (opts.store as MemoryStore | undefined) ?? new MemoryStore();
  const clock = (opts.clock as ManualClock | undefined) ?? new ManualClock(Date.UTC(2026, 5, 10, 15, 0));
  const pay = await AgentPay.open({ delivery: false, background: false, risk: "off", ...opts, store, clock });
  const wallet = await pay.wallets.create({ ownerId: "alice", currency: "USD", timeZone: "Europe/Paris" });
  await pay.wallets.deposit(wallet.id, usd("500.00"), { idempotencyKey: "dep-1" });
  const travel = await pay.wallets.createSubWallet(wallet.id, {
    name: "travel", budget: usd("200.00"),
    policy: { perPayment: "150.00", daily: "300.00", approvalAbove: "100.00", categories: { allow: ["4511", "7011"] }, notify: [{ when: "payment" }] },
  });
  const { agent, privateKeyJwk } = await pay.agents.register({ name: "trip-planner" });
  const grant = await pay.grants.create({ subWalletId: travel.id, agentId: agent.id, scopes: ["pay"], mode: "session", expiresIn: "24h" });
  const air = await pay.merchants.register({ name: "SkyAir", category: "4511", callbackUrl: "https://skyair.example/cb" });
  const hotel = await pay.merchants.register({ name: "Hotel Nord", category: "7011" });
  const casino = await pay.merchants.register({ name: "Lucky Casino", category: "7995" });
  const client = pay.agentClient({ agentId: agent.id, privateKeyJwk: privateKeyJwk! });
  return { pay, store, clock, wallet, travel, agent, privateKeyJwk: privateKeyJwk!, grant, air, hotel, casino, client };
}
