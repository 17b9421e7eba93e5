import { expect } from "chai";
import { AgentPayError } from "../../src/core/index.ts";
import { MemoryStore } from "../../src/engine/index.ts";
import { appendEvent, notificationsFor, validateNotificationRules, NOTIFICATIONS_TOPIC } from "../../src/events/index.ts";
import type { Event, NotificationFact, NotificationRule } from "../../src/events/index.ts";
import { SECRET, openEvents, waitFor } from "./helpers.ts";

const HOUR = 3_600_000;
const pay = (over: Partial<NotificationFact> = {}): NotificationFact => ({
  kind: "payment", amountMinor: 5_000n, currency: "USD", subject: { subWalletId: "sub_1", paymentId: "pay_1", merchantId: "mer_1" }, ...over,
});
const daily = (usedBeforeMinor: bigint, usedMinor: bigint) => ({ window: "daily", limitMinor: 10_000n, usedBeforeMinor, usedMinor });

/** [name, rule, fact, fires?] */
const table: Array<[string, NotificationRule, NotificationFact, boolean]> = [
  ["payment: a payment", { when: "payment" }, pay(), true],
  ["payment: a refund", { when: "payment" }, pay({ kind: "refund" }), true],
  ["payment: not a decline", { when: "payment" }, { kind: "declined", reasons: ["category"] }, false],
  ["amount_above: above", { when: "amount_above", amountMinor: 4_999n }, pay(), true],
  ["amount_above: equal is not above", { when: "amount_above", amountMinor: 5_000n }, pay(), false],
  ["amount_above: below", { when: "amount_above", amountMinor: 10_000n }, pay(), false],
  ["amount_above: other currency", { when: "amount_above", amountMinor: 1n, currency: "EUR" }, pay(), false],
  ["amount_above: same currency", { when: "amount_above", amountMinor: 1n, currency: "USD" }, pay(), true],
  ["amount_above: not for refunds", { when: "amount_above", amountMinor: 1n }, pay({ kind: "refund" }), false],
  ["budget_used: crosses 80%", { when: "budget_used", percent: 80 }, pay({ budgets: [daily(7_000n, 8_000n)] }), true],
  ["budget_used: lands exactly on 80% from below", { when: "budget_used", percent: 80 }, pay({ budgets: [daily(7_999n, 8_000n)] }), true],
  ["budget_used: already past 80%", { when: "budget_used", percent: 80 }, pay({ budgets: [daily(8_000n, 9_000n)] }), false],
  ["budget_used: still below", { when: "budget_used", percent: 80 }, pay({ budgets: [daily(1_000n, 7_999n)] }), false],
  ["budget_used: before derived from the amount", { when: "budget_used", percent: 50 },
    pay({ amountMinor: 2_000n, budgets: [{ window: "daily", limitMinor: 10_000n, usedMinor: 5_500n }] }), true],
  ["budget_used: 100% reached", { when: "budget_used", percent: 100 }, pay({ budgets: [daily(9_000n, 10_000n)] }), true],
  ["budget_used: window filter excludes", { when: "budget_used", percent: 80, window: "monthly" }, pay({ budgets: [daily(7_000n, 8_000n)] }), false],
  ["budget_used: zero limit ignored", { when: "budget_used", percent: 1 },
    pay({ budgets: [{ window: "daily", limitMinor: 0n, usedBeforeMinor: 0n, usedMinor: 5n }] }), false],
  ["budget_used: no budgets in the fact", { when: "budget_used", percent: 10 }, pay(), false],
  ["new_merchant: first payment", { when: "new_merchant" }, pay({ firstPaymentToMerchant: true }), true],
  ["new_merchant: known merchant", { when: "new_merchant" }, pay({ firstPaymentToMerchant: false }), false],
  ["declined: a decline", { when: "declined" }, { kind: "declined", amountMinor: 1n, reasons: ["category_blocked"] }, true],
  ["declined: a payment", { when: "declined" }, pay(), false],
  ["approval_needed: asked", { when: "approval_needed" }, { kind: "approval_needed", amountMinor: 20_000n, subject: { approvalId: "apr_1" } }, true],
  ["approval_needed: a payment", { when: "approval_needed" }, pay(), false],
  ["grant_expiring: inside the window", { when: "grant_expiring", withinMs: 24 * HOUR }, { kind: "grant_expiring", expiresAtMs: 10 * HOUR, nowMs: 0 }, true],
  ["grant_expiring: exactly at the window edge", { when: "grant_expiring", withinMs: 10 * HOUR }, { kind: "grant_expiring", expiresAtMs: 10 * HOUR, nowMs: 0 }, true],
  ["grant_expiring: too early", { when: "grant_expiring", withinMs: HOUR }, { kind: "grant_expiring", expiresAtMs: 10 * HOUR, nowMs: 0 }, false],
  ["grant_expiring: already expired", { when: "grant_expiring", withinMs: HOUR }, { kind: "grant_expiring", expiresAtMs: 0, nowMs: 1 }, false],
];

describe("events: notification rules", () => {
  for (const [name, rule, fact, fires] of table) {
    it(`${fires ? "fires" : "stays quiet"}: ${name}`, () => {
      const out = notificationsFor([rule], fact);
      expect(out).to.have.length(fires ? 1 : 0);
      if (fires) {
        expect(out[0]!.type).to.equal("notification");
        expect(out[0]!.destinations).to.deep.equal([{ kind: "topic", topic: NOTIFICATIONS_TOPIC }]);
        expect((out[0]!.data as { matched: Array<{ when: string }> }).matched.map((m) => m.when)).to.deep.equal([rule.when]);
        expect(out[0]!.subject).to.deep.equal(fact.subject ?? {});
      }
    });
  }

  it("merges every rule that fires for one channel into one notification, one per channel", () => {
    const hook = { kind: "webhook" as const, url: "https://alice.example/notify", secret: SECRET };
    const rules: NotificationRule[] = [
      { when: "payment" },
      { when: "amount_above", amountMinor: 1_000n },
      { when: "new_merchant" },
      { when: "budget_used", percent: 80, channel: hook },
      { when: "declined", channel: hook },
    ];
    const out = notificationsFor(rules, pay({ firstPaymentToMerchant: true, budgets: [daily(4_000n, 9_000n)] }));
    expect(out).to.have.length(2);
    expect(out[0]!.destinations).to.deep.equal([{ kind: "topic", topic: NOTIFICATIONS_TOPIC }]);
    expect(out[0]!.data).to.deep.equal({
      fact: "payment",
      matched: [{ when: "payment" }, { when: "amount_above", amountMinor: 1_000n }, { when: "new_merchant" }],
      amountMinor: 5_000n, currency: "USD", firstPaymentToMerchant: true,
    });
    expect(out[1]!.destinations).to.deep.equal([hook]);
    expect((out[1]!.data as { matched: unknown }).matched).to.deep.equal([
      { when: "budget_used", percent: 80, budgets: [{ window: "daily", usedMinor: 9_000n, limitMinor: 10_000n }] },
    ]);
    expect(notificationsFor([], pay())).to.deep.equal([]);
  });

  it("accepts digit strings for amounts and returns clean rules", () => {
    expect(validateNotificationRules([{ when: "amount_above", amountMinor: "10000", currency: "USD" }, { when: "payment" }]))
      .to.deep.equal([{ when: "amount_above", amountMinor: 10_000n, currency: "USD" }, { when: "payment" }]);
  });

  const badRules: Array<[string, unknown]> = [
    ["not an array", { when: "payment" }],
    ["too many rules", Array.from({ length: 33 }, () => ({ when: "payment" }))],
    ["a null rule", [null]],
    ["unknown when", [{ when: "always" }]],
    ["unknown field", [{ when: "payment", amountMinor: 5n }]],
    ["negative amount", [{ when: "amount_above", amountMinor: -1n }]],
    ["fractional amount", [{ when: "amount_above", amountMinor: "1.5" }]],
    ["number amount", [{ when: "amount_above", amountMinor: 100 }]],
    ["missing amount", [{ when: "amount_above" }]],
    ["percent 0", [{ when: "budget_used", percent: 0 }]],
    ["percent 101", [{ when: "budget_used", percent: 101 }]],
    ["fractional percent", [{ when: "budget_used", percent: 50.5 }]],
    ["withinMs negative", [{ when: "grant_expiring", withinMs: -1 }]],
    ["withinMs missing", [{ when: "grant_expiring" }]],
    ["bad channel url", [{ when: "payment", channel: { kind: "webhook", url: "not a url", secret: SECRET } }]],
    ["channel without secret", [{ when: "payment", channel: { kind: "webhook", url: "https://a.example/" } }]],
    ["bad channel kind", [{ when: "payment", channel: { kind: "sms", to: "+1" } }]],
  ];
  for (const [name, rules] of badRules) {
    it(`refuses bad rules (${name}) with INVALID_INPUT`, () => {
      for (const call of [() => validateNotificationRules(rules), () => notificationsFor(rules, pay())]) {
        let err: unknown;
        try {
          call();
        } catch (e) {
          err = e;
        }
        expect(err).to.be.instanceOf(AgentPayError).with.property("code", "INVALID_INPUT");
        expect((err as Error).message + JSON.stringify((err as AgentPayError).toJSON())).not.to.include(SECRET);
      }
    });
  }

  it("refuses a malformed fact", () => {
    for (const fact of [null, { kind: "spent" }, { kind: "payment", amountMinor: 5 }, { kind: "grant_expiring" },
      { kind: "payment", budgets: [{ window: "daily", limitMinor: 1 }] }]) {
      expect(() => notificationsFor([{ when: "payment" }], fact as NotificationFact)).to.throw(AgentPayError).with.property("code", "INVALID_INPUT");
    }
  });

  it("end to end: notifications appended in the payment's command reach a subscriber", async () => {
    const ev = await openEvents(new MemoryStore());
    const got: Event[] = [];
    ev.deliverer.subscribe((e) => void got.push(e), { topics: [NOTIFICATIONS_TOPIC] });
    const rules = validateNotificationRules([{ when: "amount_above", amountMinor: "1000" }]);
    const appended = await ev.engine.submit((tx) => {
      tx.put("state/payment", { amountMinor: 5_000n });
      return notificationsFor(rules, pay()).map((n) => appendEvent(tx, n));
    });
    expect(appended).to.have.length(1);
    await waitFor(() => got.length === 1, "notification delivered");
    expect(got[0]!).to.deep.include({ type: "notification", subject: { subWalletId: "sub_1", paymentId: "pay_1", merchantId: "mer_1" } });
    await ev.close();
  });
});
