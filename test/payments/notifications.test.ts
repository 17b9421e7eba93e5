import { expect } from "chai";
import { usd, world } from "./helpers.ts";

describe("notifications per the person's rules", () => {
  it("budget used, new merchant, decline, approval needed and grant expiring each notify once", async () => {
    const w = await world();
    const { pay, client, wallet, clock } = w;
    const sw = await pay.wallets.createSubWallet(wallet.id, {
      name: "watched", budget: usd("100.00"),
      policy: {
        daily: "100.00", approvalAbove: "30.00", categories: { block: ["7995"] },
        notify: [{ when: "budget_used", percent: 80 }, { when: "new_merchant" }, { when: "declined" }, { when: "approval_needed" }, { when: "grant_expiring", withinMs: 3_600_000 }],
      },
    });
    const grant = await pay.grants.create({ subWalletId: sw.id, agentId: w.agent.id, scopes: ["pay"], mode: "session", expiresIn: "2h" });
    const notes = () => [...pay.engine.scan<{ type: string; data: { matched: Array<{ when: string }> } }>("ev/")]
      .map(([, e]) => e).filter((e) => e.type === "notification").flatMap((e) => e.data.matched.map((m) => m.when));
    // engine.scan's order is unspecified: compare what was notified, each exactly once, not the order.

    await client.requestPayment({ subWalletId: sw.id, merchantId: w.air.merchant.id, amount: usd("30.00") });
    expect(notes()).to.have.members(["new_merchant"]);
    await client.requestPayment({ subWalletId: sw.id, merchantId: w.air.merchant.id, amount: usd("30.00") }); // 60 of 100
    expect(notes()).to.have.members(["new_merchant"]);
    await client.requestPayment({ subWalletId: sw.id, merchantId: w.air.merchant.id, amount: usd("25.00") }); // 85 of 100: crosses 80%
    expect(notes()).to.have.members(["new_merchant", "budget_used"]);
    await client.requestPayment({ subWalletId: sw.id, merchantId: w.casino.merchant.id, amount: usd("1.00") }).catch(() => undefined);
    expect(notes()).to.have.members(["new_merchant", "budget_used", "declined"]);
    await pay.wallets.updatePolicy(sw.id, { approvalAbove: "5.00", notify: [{ when: "approval_needed" }, { when: "grant_expiring", withinMs: 3_600_000 }] });
    const pending = await client.requestPayment({ subWalletId: sw.id, merchantId: w.hotel.merchant.id, amount: usd("6.00") });
    expect(pending.status).to.equal("pending_approval");
    expect(notes()).to.have.members(["new_merchant", "budget_used", "declined", "approval_needed"]);

    expect(await pay.notifyExpiringGrants()).to.equal(0); // 2 h left: outside the 1 h window
    clock.advance(3_600_000);
    expect(await pay.notifyExpiringGrants()).to.equal(1);
    expect(await pay.notifyExpiringGrants()).to.equal(0); // once per grant
    expect(notes()).to.include("grant_expiring");
    expect(pay.grants.get(grant.id).status).to.equal("active");
  });

  it("refuses malformed notification rules when the policy is written, changing nothing", async () => {
    const w = await world();
    const records = w.pay.engine.stats.records;
    let code = "";
    try {
      await w.pay.wallets.createSubWallet(w.wallet.id, { name: "bad", policy: { notify: [{ when: "sometimes" }] } });
    } catch (e) {
      code = (e as { code: string }).code;
    }
    expect(code).to.equal("INVALID_INPUT");
    expect(w.pay.engine.stats.records).to.equal(records);
  });
});
