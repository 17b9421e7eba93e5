import { expect } from "chai";
import { AgentPay, AgentPayError, ManualClock, amount } from "../../src/index.ts";
import { MemoryStore } from "../../src/engine/index.ts";
import { addUsage, budgetStatus, emptyUsage, evaluatePolicy, parsePolicy, removeUsage } from "../../src/wallets/index.ts";
import { CurrencyRegistry } from "../../src/core/index.ts";

const usd = (s: string) => amount(s, "USD");
const HOUR = 3_600_000;

/**
 * Calendar budgets must never reopen because the clock went back: usage counts against the latest
 * period seen, so a restart with the clock an hour behind (across midnight, a week's or a month's
 * end) leaves the spend where it was.
 */
describe("calendar budgets when the clock goes backwards", () => {
  it("the reported case: restarted with the clock an hour back across midnight, 8 payments of 150 against a daily 300 and 4 a day: none gets through", async () => {
    const store = new MemoryStore();
    // 00:30 on 11 June in Paris (UTC+2): a new day has just begun.
    const clock = new ManualClock(Date.UTC(2026, 5, 10, 22, 30));
    const open = () => AgentPay.open({ store, clock, delivery: false, background: false, risk: "off" });
    let pay = await open();
    const wallet = await pay.wallets.create({ ownerId: "alice", currency: "USD", timeZone: "Europe/Paris" });
    await pay.wallets.deposit(wallet.id, usd("7000.00"), { idempotencyKey: "d" });
    const sw = await pay.wallets.createSubWallet(wallet.id, {
      name: "daily", budget: usd("3000.00"), policy: { perPayment: "150.00", daily: "300.00", maxPaymentsPerDay: 4 },
    });
    const counted = await pay.wallets.createSubWallet(wallet.id, {
      name: "counted", budget: usd("3000.00"), policy: { maxPaymentsPerDay: 4 },
    });
    const { agent, privateKeyJwk } = await pay.agents.register({ name: "a" });
    for (const s of [sw, counted]) await pay.grants.create({ subWalletId: s.id, agentId: agent.id, scopes: ["pay"], mode: "persistent" });
    const { merchant } = await pay.merchants.register({ name: "Shop", category: "5999" });
    let client = pay.agentClient({ agentId: agent.id, privateKeyJwk: privateKeyJwk! });
    for (let i = 0; i < 2; i++) {
      expect((await client.requestPayment({ subWalletId: sw.id, merchantId: merchant.id, amount: usd("150.00") })).status).to.equal("approved");
      expect((await client.requestPayment({ subWalletId: counted.id, merchantId: merchant.id, amount: usd("1.00") })).status).to.equal("approved");
    }
    await pay.close();

    clock.set(clock.nowMs() - HOUR); // 23:30 on 10 June: the day before, by the clock
    pay = await open();
    client = pay.agentClient({ agentId: agent.id, privateKeyJwk: privateKeyJwk! });
    const outcomes: string[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await client.requestPayment({ subWalletId: sw.id, merchantId: merchant.id, amount: usd("150.00") })
        .then((x) => x.status, (e: AgentPayError) => (e.details.reasons as Array<{ code: string }>).map((x) => x.code).join("+"));
      outcomes.push(r);
    }
    expect(outcomes).to.deep.equal(Array(8).fill("POLICY_DAILY_BUDGET_EXCEEDED"));
    const budget = pay.wallets.budget(sw.id);
    expect(budget.daily.usedMinor).to.equal(30_000n);
    expect(budget.paymentsToday.count).to.equal(2);
    // The payment count: two more today, then refused.
    const counts: string[] = [];
    for (let i = 0; i < 4; i++) {
      counts.push(await client.requestPayment({ subWalletId: counted.id, merchantId: merchant.id, amount: usd("1.00") })
        .then((x) => x.status, (e: AgentPayError) => (e.details.reasons as Array<{ code: string }>).map((x) => x.code).join("+")));
    }
    expect(counts).to.deep.equal(["approved", "approved", "POLICY_MAX_PAYMENTS_PER_DAY", "POLICY_MAX_PAYMENTS_PER_DAY"]);
    expect(pay.ledger.check().ok).to.equal(true);
    await pay.close();
  });

  it("weekly and monthly windows too: spend counted on 1 July (a Wednesday) still counts when the clock says 30 June", () => {
    const currencies = new CurrencyRegistry();
    const policy = parsePolicy({ weekly: "100.00", monthly: "100.00" }, "USD", currencies);
    const july1 = Date.UTC(2026, 6, 1, 0, 30);
    const june30 = july1 - HOUR;
    const usage = addUsage(emptyUsage(), { amountMinor: 8_000n, atMs: july1 }, "UTC");
    const intent = { amountMinor: 3_000n, currency: "USD", merchantId: "mer_x", category: "5999", atMs: june30 };
    const v = evaluatePolicy(policy, usage, intent, "UTC");
    expect(v.outcome).to.equal("decline");
    expect(v.reasons.map((r) => r.code)).to.include("POLICY_MONTHLY_BUDGET_EXCEEDED");
    // A payment dated back counts against the latest period seen, not a finished one.
    const after = addUsage(usage, { amountMinor: 1_000n, atMs: june30 }, "UTC");
    expect(after.month?.spentMinor).to.equal(9_000n);
    expect(after.week?.spentMinor).to.equal(9_000n);
    expect(after.day?.spentMinor).to.equal(9_000n);
    expect(after.day?.count).to.equal(2);
    const status = budgetStatus(policy, after, june30, "UTC");
    expect(status.monthly.usedMinor).to.equal(9_000n);
    expect(status.weekly.usedMinor).to.equal(9_000n);
    // A void at the earlier clock gives back a payment counted in its own window (1 July's)...
    const back = removeUsage(after, { amountMinor: 8_000n, atMs: june30, originalAtMs: july1, cancelsPayment: true }, "UTC");
    expect(back.month?.spentMinor).to.equal(1_000n);
    expect(back.day?.count).to.equal(1);
    // ...but not one made while the clock was behind: it counted in a later window than its date's,
    // and giving it back there could reopen budget (the conservative side).
    const kept = removeUsage(after, { amountMinor: 1_000n, atMs: june30, originalAtMs: june30, cancelsPayment: true }, "UTC");
    expect(kept.month?.spentMinor).to.equal(9_000n);
    // Once the clock has caught up, the same windows go on.
    expect(budgetStatus(policy, after, july1 + HOUR, "UTC").monthly.usedMinor).to.equal(9_000n);
  });
});
