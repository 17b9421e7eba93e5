import { expect } from "chai";
import { AgentPayError, CurrencyRegistry, decodeJson, encodeJson } from "../../src/core/index.ts";
import {
  addUsage, budgetStatus, emptyUsage, evaluatePolicy, formatPolicy, parsePolicy, removeUsage, validateTimeZone, windowIds,
  MAX_ROLLING_BUCKETS, type Policy, type PolicyInput, type PolicyIntent, type Usage, type Verdict,
} from "../../src/wallets/policy/index.ts";

const NY = "America/New_York";
const TOKYO = "Asia/Tokyo";
const BERLIN = "Europe/Berlin";
const H = 3_600_000;
const at = (iso: string): number => {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`bad test timestamp ${iso}`);
  return ms;
};
const usd = (s: string): bigint => {
  const [w, f = ""] = s.split(".");
  return BigInt(w! + f.padEnd(2, "0"));
};

/** Usage after paying each [amount, time] in order. */
function paid(payments: Array<[string, number]>, tz: string): Usage {
  let u = emptyUsage();
  for (const [a, t] of payments) u = addUsage(u, { amountMinor: usd(a), atMs: t }, tz);
  return u;
}

function intent(over: Partial<PolicyIntent> = {}): PolicyIntent {
  return { amountMinor: usd("10.00"), currency: "USD", merchantId: "mer_sky", category: "4511", atMs: at("2026-01-14T17:00:00Z"), ...over };
}

function codes(v: Verdict): string[] {
  return v.reasons.map((r) => r.code);
}

function expectError(fn: () => unknown, code: string, field?: string): AgentPayError {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(AgentPayError);
    const err = e as AgentPayError;
    expect(err.code, err.message).to.equal(code);
    if (field !== undefined) expect(err.details.field, err.message).to.equal(field);
    return err;
  }
  throw new Error(`expected ${code}`);
}

describe("wallets/policy", () => {
  describe("parsePolicy", () => {
    it("normalises the user-facing shape (amounts in minor units, times in minutes, lists deduplicated)", () => {
      const p = parsePolicy({
        perPayment: "150.00", daily: "300", weekly: "1000.5", monthly: "2000.00", rolling24h: "400.00", approvalAbove: "100.00",
        categories: { allow: ["4511", "7011", "4511"], block: [] }, merchants: { block: ["mer_bad"] },
        activeHours: { from: "22:00", to: "06:00", days: ["sun", "mon", "sun"] },
        expiresAt: "2026-12-31T23:59:00+09:00", maxPaymentsPerDay: 5, notify: [{ when: "payment" }, "opaque"],
      }, "USD");
      expect(p).to.deep.equal({
        currency: "USD", perPaymentMinor: 15000n, dailyMinor: 30000n, weeklyMinor: 100050n, monthlyMinor: 200000n,
        rolling24hMinor: 40000n, approvalAboveMinor: 10000n,
        categories: { allow: ["4511", "7011"] }, merchants: { block: ["mer_bad"] },
        activeHours: { fromMinute: 1320, toMinute: 360, days: ["mon", "sun"] },
        expiresAtMs: at("2026-12-31T14:59:00Z"), maxPaymentsPerDay: 5, notify: [{ when: "payment" }, "opaque"],
      });
      expect(p).to.not.have.property("version");
      expect(Object.isFrozen(p)).to.equal(true);
    });

    it("accepts an empty policy, zero amounts, epoch-ms expiry, 24:00 and registered assets", () => {
      expect(parsePolicy({}, "USD")).to.deep.equal({ currency: "USD" });
      expect(parsePolicy({ daily: "0", maxPaymentsPerDay: 0 }, "USD")).to.deep.equal({ currency: "USD", dailyMinor: 0n, maxPaymentsPerDay: 0 });
      expect(parsePolicy({ expiresAt: 1_800_000_000_000 }, "USD").expiresAtMs).to.equal(1_800_000_000_000);
      expect(parsePolicy({ activeHours: { from: "00:00", to: "24:00" } }, "USD").activeHours).to.deep.equal({ fromMinute: 0, toMinute: 1440 });
      expect(parsePolicy({ perPayment: "5000" }, "JPY").perPaymentMinor).to.equal(5000n);
      const reg = new CurrencyRegistry();
      reg.registerAsset("USDC", 6);
      expect(parsePolicy({ perPayment: "1.000001" }, "USDC", reg).perPaymentMinor).to.equal(1_000_001n);
    });

    it("formatPolicy round-trips through parsePolicy", () => {
      const input: PolicyInput = {
        perPayment: "150.00", daily: "300.00", approvalAbove: "100.00", categories: { allow: ["4511"], block: ["7995"] },
        merchants: { allow: ["mer_a", "mer_b"] }, activeHours: { from: "08:00", to: "24:00", days: ["mon", "fri"] },
        expiresAt: "2026-12-31T23:59:00.000Z", maxPaymentsPerDay: 3, notify: [{ when: "decline" }],
      };
      const p = parsePolicy(input, "USD");
      expect(formatPolicy(p)).to.deep.equal(input);
      expect(parsePolicy(formatPolicy(p), "USD")).to.deep.equal(p);
      expect(formatPolicy({ ...p, version: 7 })).to.not.have.property("version");
    });

    const failures: Array<[string, unknown, string, string, string?]> = [
      // [name, input, code, field, currency]
      ["not an object", null, "INVALID_INPUT", "policy"],
      ["an array", [], "INVALID_INPUT", "policy"],
      ["a string", "daily 300", "INVALID_INPUT", "policy"],
      ["unknown key", { daily: "1.00", dayly: "2.00" }, "INVALID_INPUT", "dayly"],
      ["a version set by the user", { version: 3 }, "INVALID_INPUT", "version"],
      ["__proto__ key", JSON.parse('{"__proto__": {"x": 1}}'), "INVALID_INPUT", "__proto__"],
      ["negative amount", { daily: "-5.00" }, "INVALID_AMOUNT", "daily"],
      ["amount as a number", { perPayment: 150 }, "INVALID_AMOUNT", "perPayment"],
      ["more decimals than the currency", { perPayment: "10.001" }, "INVALID_AMOUNT", "perPayment"],
      ["fractional yen", { weekly: "100.5" }, "INVALID_AMOUNT", "weekly", "JPY"],
      ["empty amount", { monthly: "" }, "INVALID_AMOUNT", "monthly"],
      ["exponent notation", { rolling24h: "1e3" }, "INVALID_AMOUNT", "rolling24h"],
      ["huge amount", { approvalAbove: "9".repeat(80) }, "INVALID_AMOUNT", "approvalAbove"],
      ["3-digit MCC", { categories: { allow: ["451"] } }, "INVALID_INPUT", "categories.allow[0]"],
      ["5-digit MCC", { categories: { block: ["4511", "45111"] } }, "INVALID_INPUT", "categories.block[1]"],
      ["numeric MCC", { categories: { allow: [4511] } }, "INVALID_INPUT", "categories.allow[0]"],
      ["empty allow list", { categories: { allow: [] } }, "INVALID_INPUT", "categories.allow"],
      ["list not an array", { merchants: { block: "mer_a" } }, "INVALID_INPUT", "merchants.block"],
      ["unknown list key", { categories: { deny: ["4511"] } }, "INVALID_INPUT", "categories.deny"],
      ["allowed and blocked", { categories: { allow: ["4511"], block: ["4511"] } }, "INVALID_INPUT", "categories"],
      ["empty merchant id", { merchants: { block: [""] } }, "INVALID_INPUT", "merchants.block[0]"],
      ["merchant id with a space", { merchants: { allow: ["mer a"] } }, "INVALID_INPUT", "merchants.allow[0]"],
      ["too many entries", { merchants: { block: Array.from({ length: 1001 }, (_, i) => `m${i}`) } }, "INVALID_INPUT", "merchants.block"],
      ["activeHours not an object", { activeHours: "08-20" }, "INVALID_INPUT", "activeHours"],
      ["single-digit hour", { activeHours: { from: "8:00", to: "20:00" } }, "INVALID_INPUT", "activeHours.from"],
      ["from 24:00", { activeHours: { from: "24:00", to: "06:00" } }, "INVALID_INPUT", "activeHours.from"],
      ["to 24:01", { activeHours: { from: "08:00", to: "24:01" } }, "INVALID_INPUT", "activeHours.to"],
      ["minute 60", { activeHours: { from: "08:60", to: "20:00" } }, "INVALID_INPUT", "activeHours.from"],
      ["missing to", { activeHours: { from: "08:00" } }, "INVALID_INPUT", "activeHours.to"],
      ["from equals to", { activeHours: { from: "08:00", to: "08:00" } }, "INVALID_INPUT", "activeHours"],
      ["bad weekday", { activeHours: { from: "08:00", to: "20:00", days: ["monday"] } }, "INVALID_INPUT", "activeHours.days[0]"],
      ["no weekdays", { activeHours: { from: "08:00", to: "20:00", days: [] } }, "INVALID_INPUT", "activeHours.days"],
      ["activeHours extra key", { activeHours: { from: "08:00", to: "20:00", tz: "UTC" } }, "INVALID_INPUT", "activeHours.tz"],
      ["impossible date", { expiresAt: "2026-02-30T00:00:00Z" }, "INVALID_INPUT", "expiresAt"],
      ["date without time", { expiresAt: "2026-12-31" }, "INVALID_INPUT", "expiresAt"],
      ["date-time without offset", { expiresAt: "2026-12-31T10:00:00" }, "INVALID_INPUT", "expiresAt"],
      ["negative ms", { expiresAt: -1 }, "INVALID_INPUT", "expiresAt"],
      ["fractional ms", { expiresAt: 1.5 }, "INVALID_INPUT", "expiresAt"],
      ["boolean expiry", { expiresAt: true }, "INVALID_INPUT", "expiresAt"],
      ["negative max payments", { maxPaymentsPerDay: -1 }, "INVALID_INPUT", "maxPaymentsPerDay"],
      ["fractional max payments", { maxPaymentsPerDay: 1.5 }, "INVALID_INPUT", "maxPaymentsPerDay"],
      ["max payments as a string", { maxPaymentsPerDay: "3" }, "INVALID_INPUT", "maxPaymentsPerDay"],
      ["notify not an array", { notify: { when: "payment" } }, "INVALID_INPUT", "notify"],
    ];
    for (const [name, input, code, field, currency] of failures) {
      it(`refuses ${name} (${code} at ${field})`, () => {
        expectError(() => parsePolicy(input, currency ?? "USD"), code, field);
      });
    }

    it("refuses an unknown currency", () => {
      expectError(() => parsePolicy({}, "XXX"), "UNKNOWN_CURRENCY");
    });
  });

  describe("windowIds", () => {
    const table: Array<[string, string, string, string, string]> = [
      // [instant, zone, day, week, month]
      ["2026-01-16T04:59:59.999Z", NY, "2026-01-15", "2026-W03", "2026-01"],
      ["2026-01-16T05:00:00.000Z", NY, "2026-01-16", "2026-W03", "2026-01"],
      ["2026-01-15T14:59:59.999Z", TOKYO, "2026-01-15", "2026-W03", "2026-01"],
      ["2026-01-15T15:00:00.000Z", TOKYO, "2026-01-16", "2026-W03", "2026-01"],
      // US spring forward: 2026-03-08 has 23 hours (05:00Z to 04:00Z)
      ["2026-03-08T04:59:59.999Z", NY, "2026-03-07", "2026-W10", "2026-03"],
      ["2026-03-08T05:00:00.000Z", NY, "2026-03-08", "2026-W10", "2026-03"],
      ["2026-03-09T03:59:59.999Z", NY, "2026-03-08", "2026-W10", "2026-03"],
      ["2026-03-09T04:00:00.000Z", NY, "2026-03-09", "2026-W11", "2026-03"],
      // US fall back: 2026-11-01 has 25 hours (04:00Z to 05:00Z)
      ["2026-11-01T03:59:59.999Z", NY, "2026-10-31", "2026-W44", "2026-10"],
      ["2026-11-01T04:00:00.000Z", NY, "2026-11-01", "2026-W44", "2026-11"],
      ["2026-11-02T04:59:59.999Z", NY, "2026-11-01", "2026-W44", "2026-11"],
      ["2026-11-02T05:00:00.000Z", NY, "2026-11-02", "2026-W45", "2026-11"],
      // Berlin spring forward: 2026-03-29 (23:00Z the day before to 22:00Z)
      ["2026-03-28T22:59:59.999Z", BERLIN, "2026-03-28", "2026-W13", "2026-03"],
      ["2026-03-28T23:00:00.000Z", BERLIN, "2026-03-29", "2026-W13", "2026-03"],
      ["2026-03-29T21:59:59.999Z", BERLIN, "2026-03-29", "2026-W13", "2026-03"],
      ["2026-03-29T22:00:00.000Z", BERLIN, "2026-03-30", "2026-W14", "2026-03"],
      // ISO week years: 2026 has 53 weeks; 2027-01-01 (Friday) is in 2026-W53
      ["2027-01-01T12:00:00Z", "UTC", "2027-01-01", "2026-W53", "2027-01"],
      ["2027-01-04T00:00:00Z", "UTC", "2027-01-04", "2027-W01", "2027-01"],
      ["2025-12-29T00:00:00Z", "UTC", "2025-12-29", "2026-W01", "2025-12"],
      ["2025-12-28T23:59:59.999Z", "UTC", "2025-12-28", "2025-W52", "2025-12"],
      // half-hour and 45-minute zones
      ["2026-06-30T18:29:59.999Z", "Asia/Kolkata", "2026-06-30", "2026-W27", "2026-06"],
      ["2026-06-30T18:30:00.000Z", "Asia/Kolkata", "2026-07-01", "2026-W27", "2026-07"],
      ["2026-06-30T18:15:00.000Z", "Asia/Kathmandu", "2026-07-01", "2026-W27", "2026-07"],
    ];
    for (const [iso, tz, day, week, month] of table) {
      it(`${iso} in ${tz} → ${day} ${week} ${month}`, () => {
        expect(windowIds(at(iso), tz)).to.deep.equal({ day, week, month });
      });
    }

    it("refuses an unknown time zone with INVALID_INPUT", () => {
      expectError(() => windowIds(0, "Mars/Olympus_Mons"), "INVALID_INPUT", "timeZone");
      expectError(() => validateTimeZone(42), "INVALID_INPUT", "timeZone");
      expect(validateTimeZone("Europe/Berlin")).to.equal("Europe/Berlin");
    });
  });

  describe("evaluatePolicy: one rule at a time", () => {
    const T = at("2026-01-14T17:00:00Z"); // Wednesday 12:00 in New York
    type Case = {
      name: string;
      policy: PolicyInput;
      payments?: Array<[string, number]>;
      intent?: Partial<PolicyIntent>;
      tz?: string;
      outcome: Verdict["outcome"];
      codes?: string[];
    };
    const cases: Case[] = [
      { name: "no rules allows", policy: {}, outcome: "allow" },
      { name: "per-payment at the cap", policy: { perPayment: "150.00" }, intent: { amountMinor: usd("150.00") }, outcome: "allow" },
      { name: "per-payment one cent over", policy: { perPayment: "150.00" }, intent: { amountMinor: usd("150.01") },
        outcome: "decline", codes: ["POLICY_PER_PAYMENT_EXCEEDED"] },
      { name: "approval threshold at the threshold", policy: { approvalAbove: "100.00" }, intent: { amountMinor: usd("100.00") }, outcome: "allow" },
      { name: "approval threshold one cent over", policy: { approvalAbove: "100.00" }, intent: { amountMinor: usd("100.01") },
        outcome: "review", codes: ["APPROVAL_THRESHOLD"] },
      { name: "approval threshold zero: everything is reviewed", policy: { approvalAbove: "0" }, intent: { amountMinor: 1n },
        outcome: "review", codes: ["APPROVAL_THRESHOLD"] },
      { name: "daily budget reached exactly", policy: { daily: "300.00" }, payments: [["250.00", T - H]], intent: { amountMinor: usd("50.00") }, outcome: "allow" },
      { name: "daily budget one cent over", policy: { daily: "300.00" }, payments: [["250.00", T - H]], intent: { amountMinor: usd("50.01") },
        outcome: "decline", codes: ["POLICY_DAILY_BUDGET_EXCEEDED"] },
      { name: "daily budget of zero", policy: { daily: "0" }, intent: { amountMinor: 1n }, outcome: "decline", codes: ["POLICY_DAILY_BUDGET_EXCEEDED"] },
      { name: "weekly budget reached exactly", policy: { weekly: "500.00" }, payments: [["400.00", at("2026-01-12T15:00:00Z")]],
        intent: { amountMinor: usd("100.00") }, outcome: "allow" },
      { name: "weekly budget over (spend from Monday)", policy: { weekly: "500.00" }, payments: [["400.00", at("2026-01-12T15:00:00Z")]],
        intent: { amountMinor: usd("100.01") }, outcome: "decline", codes: ["POLICY_WEEKLY_BUDGET_EXCEEDED"] },
      { name: "monthly budget reached exactly", policy: { monthly: "1000.00" }, payments: [["900.00", at("2026-01-01T15:00:00Z")]],
        intent: { amountMinor: usd("100.00") }, outcome: "allow" },
      { name: "monthly budget over (spend from the 1st)", policy: { monthly: "1000.00" }, payments: [["900.00", at("2026-01-01T15:00:00Z")]],
        intent: { amountMinor: usd("100.01") }, outcome: "decline", codes: ["POLICY_MONTHLY_BUDGET_EXCEEDED"] },
      { name: "rolling budget reached exactly", policy: { rolling24h: "200.00" }, payments: [["150.00", T - 20 * H]],
        intent: { amountMinor: usd("50.00") }, outcome: "allow" },
      { name: "rolling budget over (spend from yesterday)", policy: { rolling24h: "200.00" }, payments: [["150.00", T - 20 * H]],
        intent: { amountMinor: usd("50.01") }, outcome: "decline", codes: ["POLICY_ROLLING_BUDGET_EXCEEDED"] },
      { name: "blocked category", policy: { categories: { block: ["7995"] } }, intent: { category: "7995" },
        outcome: "decline", codes: ["POLICY_CATEGORY_BLOCKED"] },
      { name: "category not blocked", policy: { categories: { block: ["7995"] } }, intent: { category: "4511" }, outcome: "allow" },
      { name: "no category with a block list", policy: { categories: { block: ["7995"] } }, intent: { category: null }, outcome: "allow" },
      { name: "allowed category", policy: { categories: { allow: ["4511", "7011"] } }, intent: { category: "7011" }, outcome: "allow" },
      { name: "category not on the allow list", policy: { categories: { allow: ["4511"] } }, intent: { category: "5812" },
        outcome: "decline", codes: ["POLICY_CATEGORY_NOT_ALLOWED"] },
      { name: "no category with an allow list", policy: { categories: { allow: ["4511"] } }, intent: { category: undefined },
        outcome: "decline", codes: ["POLICY_CATEGORY_NOT_ALLOWED"] },
      { name: "blocked merchant", policy: { merchants: { block: ["mer_sky"] } }, outcome: "decline", codes: ["POLICY_MERCHANT_BLOCKED"] },
      { name: "allowed merchant", policy: { merchants: { allow: ["mer_sky"] } }, outcome: "allow" },
      { name: "merchant not on the allow list", policy: { merchants: { allow: ["mer_other"] } },
        outcome: "decline", codes: ["POLICY_MERCHANT_NOT_ALLOWED"] },
      { name: "inside active hours", policy: { activeHours: { from: "08:00", to: "20:00" } }, outcome: "allow" },
      { name: "outside active hours", policy: { activeHours: { from: "13:00", to: "20:00" } },
        outcome: "decline", codes: ["POLICY_OUTSIDE_ACTIVE_HOURS"] },
      { name: "active hours on another weekday", policy: { activeHours: { from: "08:00", to: "20:00", days: ["mon", "tue", "thu", "fri"] } },
        outcome: "decline", codes: ["POLICY_OUTSIDE_ACTIVE_HOURS"] },
      { name: "active hours judged in the wallet's zone (12:00 NY is 02:00 Tokyo)", tz: TOKYO, policy: { activeHours: { from: "08:00", to: "20:00" } },
        outcome: "decline", codes: ["POLICY_OUTSIDE_ACTIVE_HOURS"] },
      { name: "not yet expired", policy: { expiresAt: T + 1 }, outcome: "allow" },
      { name: "expired", policy: { expiresAt: T }, outcome: "decline", codes: ["POLICY_EXPIRED"] },
      { name: "below max payments per day", policy: { maxPaymentsPerDay: 2 }, payments: [["1.00", T - H]], outcome: "allow" },
      { name: "max payments per day reached", policy: { maxPaymentsPerDay: 2 }, payments: [["1.00", T - 2 * H], ["1.00", T - H]],
        outcome: "decline", codes: ["POLICY_MAX_PAYMENTS_PER_DAY"] },
      { name: "max payments per day zero", policy: { maxPaymentsPerDay: 0 }, outcome: "decline", codes: ["POLICY_MAX_PAYMENTS_PER_DAY"] },
      { name: "yesterday's payments do not count today", policy: { maxPaymentsPerDay: 1, daily: "10.00" }, payments: [["10.00", T - 20 * H]],
        outcome: "allow" },
      { name: "currency mismatch skips amount rules but keeps the others",
        policy: { perPayment: "1.00", daily: "1.00", merchants: { block: ["mer_sky"] } }, intent: { currency: "EUR" },
        outcome: "decline", codes: ["POLICY_CURRENCY_MISMATCH", "POLICY_MERCHANT_BLOCKED"] },
      { name: "every decline reason is listed, the review reason is not",
        policy: { perPayment: "5.00", daily: "5.00", weekly: "5.00", monthly: "5.00", rolling24h: "5.00", approvalAbove: "1.00",
          categories: { block: ["4511"] }, merchants: { allow: ["mer_x"] }, activeHours: { from: "13:00", to: "14:00" },
          expiresAt: T, maxPaymentsPerDay: 0 },
        outcome: "decline",
        codes: ["POLICY_EXPIRED", "POLICY_OUTSIDE_ACTIVE_HOURS", "POLICY_MERCHANT_NOT_ALLOWED", "POLICY_CATEGORY_BLOCKED",
          "POLICY_PER_PAYMENT_EXCEEDED", "POLICY_DAILY_BUDGET_EXCEEDED", "POLICY_WEEKLY_BUDGET_EXCEEDED",
          "POLICY_MONTHLY_BUDGET_EXCEEDED", "POLICY_ROLLING_BUDGET_EXCEEDED", "POLICY_MAX_PAYMENTS_PER_DAY"] },
    ];
    for (const c of cases) {
      it(`${c.name} → ${c.outcome}`, () => {
        const tz = c.tz ?? NY;
        const v = evaluatePolicy(parsePolicy(c.policy, "USD"), paid(c.payments ?? [], tz), intent(c.intent), tz);
        expect(v.outcome).to.equal(c.outcome);
        expect(codes(v)).to.deep.equal(c.codes ?? []);
        for (const r of v.reasons) expect(r.message).to.be.a("string").and.not.equal("");
      });
    }

    it("budget reasons carry the numbers in minor units", () => {
      const v = evaluatePolicy(parsePolicy({ daily: "300.00" }, "USD"), paid([["250.00", T - H]], NY), intent({ amountMinor: usd("60.00") }), NY);
      expect(v.reasons[0]!.details).to.deep.equal({
        window: "daily", windowId: "2026-01-14", limitMinor: 30000n, usedMinor: 25000n, amountMinor: 6000n, remainingMinor: 5000n,
      });
    });

    it("records the policy version it decided under", () => {
      const p: Policy = { ...parsePolicy({ approvalAbove: "1.00" }, "USD"), version: 4 };
      expect(evaluatePolicy(p, emptyUsage(), intent({ amountMinor: 50n }), NY)).to.deep.equal({ outcome: "allow", reasons: [], policyVersion: 4 });
      expect(evaluatePolicy(p, emptyUsage(), intent(), NY).policyVersion).to.equal(4);
      expect(evaluatePolicy(p, emptyUsage(), intent({ currency: "EUR" }), NY).policyVersion).to.equal(4);
      expect(evaluatePolicy(parsePolicy({}, "USD"), emptyUsage(), intent(), NY)).to.not.have.property("policyVersion");
    });

    it("refuses a zero, negative or non-bigint amount and an unknown zone", () => {
      const p = parsePolicy({}, "USD");
      expectError(() => evaluatePolicy(p, emptyUsage(), intent({ amountMinor: 0n }), NY), "INVALID_AMOUNT");
      expectError(() => evaluatePolicy(p, emptyUsage(), intent({ amountMinor: -1n }), NY), "INVALID_AMOUNT");
      expectError(() => evaluatePolicy(p, emptyUsage(), intent({ amountMinor: 5 as unknown as bigint }), NY), "INVALID_AMOUNT");
      expectError(() => evaluatePolicy(p, emptyUsage(), intent(), "Nowhere/Zone"), "INVALID_INPUT");
    });
  });

  describe("evaluatePolicy: window edges", () => {
    // A payment that fills the window's budget, then a 0.01 payment at `probe`: allowed iff a new window has begun.
    type Edge = { name: string; tz: string; policy: PolicyInput; spentAt: string; probe: string; fresh: boolean; code: string };
    const edges: Edge[] = [
      { name: "NY: still the same day 1 ms before local midnight", tz: NY, policy: { daily: "300.00" },
        spentAt: "2026-01-15T05:00:00Z", probe: "2026-01-16T04:59:59.999Z", fresh: false, code: "POLICY_DAILY_BUDGET_EXCEEDED" },
      { name: "NY: new day at local midnight (not UTC midnight)", tz: NY, policy: { daily: "300.00" },
        spentAt: "2026-01-15T05:00:00Z", probe: "2026-01-16T05:00:00Z", fresh: true, code: "POLICY_DAILY_BUDGET_EXCEEDED" },
      { name: "NY: UTC midnight is still the same local day", tz: NY, policy: { daily: "300.00" },
        spentAt: "2026-01-15T20:00:00Z", probe: "2026-01-16T00:00:00Z", fresh: false, code: "POLICY_DAILY_BUDGET_EXCEEDED" },
      { name: "Tokyo: 1 ms before local midnight", tz: TOKYO, policy: { daily: "300.00" },
        spentAt: "2026-01-15T00:00:00Z", probe: "2026-01-15T14:59:59.999Z", fresh: false, code: "POLICY_DAILY_BUDGET_EXCEEDED" },
      { name: "Tokyo: local midnight is 15:00 UTC", tz: TOKYO, policy: { daily: "300.00" },
        spentAt: "2026-01-15T00:00:00Z", probe: "2026-01-15T15:00:00Z", fresh: true, code: "POLICY_DAILY_BUDGET_EXCEEDED" },
      { name: "NY spring forward: 23:59:59.999 EDT is still 8 March", tz: NY, policy: { daily: "300.00" },
        spentAt: "2026-03-08T05:00:00Z", probe: "2026-03-09T03:59:59.999Z", fresh: false, code: "POLICY_DAILY_BUDGET_EXCEEDED" },
      { name: "NY spring forward: the 23-hour day ends at 04:00 UTC", tz: NY, policy: { daily: "300.00" },
        spentAt: "2026-03-08T05:00:00Z", probe: "2026-03-09T04:00:00Z", fresh: true, code: "POLICY_DAILY_BUDGET_EXCEEDED" },
      { name: "NY fall back: the 25-hour day still counts at 04:59:59.999 UTC", tz: NY, policy: { daily: "300.00" },
        spentAt: "2026-11-01T04:00:00Z", probe: "2026-11-02T04:59:59.999Z", fresh: false, code: "POLICY_DAILY_BUDGET_EXCEEDED" },
      { name: "NY fall back: the new day starts at 05:00 UTC", tz: NY, policy: { daily: "300.00" },
        spentAt: "2026-11-01T04:00:00Z", probe: "2026-11-02T05:00:00Z", fresh: true, code: "POLICY_DAILY_BUDGET_EXCEEDED" },
      { name: "NY fall back: the repeated 01:30 hour is the same day", tz: NY, policy: { daily: "300.00" },
        spentAt: "2026-11-01T05:30:00Z", probe: "2026-11-01T06:30:00Z", fresh: false, code: "POLICY_DAILY_BUDGET_EXCEEDED" },
      { name: "Berlin spring forward: day starts 23:00 UTC the evening before", tz: BERLIN, policy: { daily: "300.00" },
        spentAt: "2026-03-28T22:59:59.999Z", probe: "2026-03-28T23:00:00Z", fresh: true, code: "POLICY_DAILY_BUDGET_EXCEEDED" },
      { name: "Berlin spring forward: 29 March ends 22:00 UTC (1 ms before)", tz: BERLIN, policy: { daily: "300.00" },
        spentAt: "2026-03-28T23:00:00Z", probe: "2026-03-29T21:59:59.999Z", fresh: false, code: "POLICY_DAILY_BUDGET_EXCEEDED" },
      { name: "Berlin spring forward: 30 March begins 22:00 UTC", tz: BERLIN, policy: { daily: "300.00" },
        spentAt: "2026-03-28T23:00:00Z", probe: "2026-03-29T22:00:00Z", fresh: true, code: "POLICY_DAILY_BUDGET_EXCEEDED" },
      { name: "week: Sunday 23:59:59.999 NY is the same week as Monday", tz: NY, policy: { weekly: "300.00" },
        spentAt: "2026-03-09T04:00:00Z", probe: "2026-03-16T03:59:59.999Z", fresh: false, code: "POLICY_WEEKLY_BUDGET_EXCEEDED" },
      { name: "week: Monday 00:00 NY starts a new week", tz: NY, policy: { weekly: "300.00" },
        spentAt: "2026-03-15T20:00:00Z", probe: "2026-03-16T04:00:00Z", fresh: true, code: "POLICY_WEEKLY_BUDGET_EXCEEDED" },
      { name: "week: Monday 00:00 Tokyo (Sunday 15:00 UTC)", tz: TOKYO, policy: { weekly: "300.00" },
        spentAt: "2026-03-15T14:59:59.999Z", probe: "2026-03-15T15:00:00Z", fresh: true, code: "POLICY_WEEKLY_BUDGET_EXCEEDED" },
      { name: "week: across a year end inside ISO week 2026-W53", tz: "UTC", policy: { weekly: "300.00" },
        spentAt: "2026-12-31T12:00:00Z", probe: "2027-01-03T23:59:59.999Z", fresh: false, code: "POLICY_WEEKLY_BUDGET_EXCEEDED" },
      { name: "month: 31 January 23:59:59.999 Tokyo", tz: TOKYO, policy: { monthly: "300.00" },
        spentAt: "2026-01-01T00:00:00Z", probe: "2026-01-31T14:59:59.999Z", fresh: false, code: "POLICY_MONTHLY_BUDGET_EXCEEDED" },
      { name: "month: 1 February 00:00 Tokyo", tz: TOKYO, policy: { monthly: "300.00" },
        spentAt: "2026-01-31T14:59:59.999Z", probe: "2026-01-31T15:00:00Z", fresh: true, code: "POLICY_MONTHLY_BUDGET_EXCEEDED" },
      { name: "month: NY 1 November begins at 04:00 UTC (EDT)", tz: NY, policy: { monthly: "300.00" },
        spentAt: "2026-11-01T03:59:59.999Z", probe: "2026-11-01T04:00:00Z", fresh: true, code: "POLICY_MONTHLY_BUDGET_EXCEEDED" },
      { name: "rolling: 1 ms before 24 h the spend still counts", tz: NY, policy: { rolling24h: "300.00" },
        spentAt: "2026-01-15T12:34:56.789Z", probe: "2026-01-16T12:34:56.788Z", fresh: false, code: "POLICY_ROLLING_BUDGET_EXCEEDED" },
      { name: "rolling: exactly 24 h later the spend drops out", tz: NY, policy: { rolling24h: "300.00" },
        spentAt: "2026-01-15T12:34:56.789Z", probe: "2026-01-16T12:34:56.789Z", fresh: true, code: "POLICY_ROLLING_BUDGET_EXCEEDED" },
      { name: "rolling: over the spring-forward night it is 24 real hours, not wall-clock", tz: NY, policy: { rolling24h: "300.00" },
        spentAt: "2026-03-08T06:00:00Z", probe: "2026-03-09T05:59:59.999Z", fresh: false, code: "POLICY_ROLLING_BUDGET_EXCEEDED" },
      { name: "rolling: a new day does not reset it", tz: NY, policy: { rolling24h: "300.00", daily: "300.00" },
        spentAt: "2026-01-16T04:00:00Z", probe: "2026-01-16T05:00:00Z", fresh: false, code: "POLICY_ROLLING_BUDGET_EXCEEDED" },
    ];
    for (const e of edges) {
      it(e.name, () => {
        const p = parsePolicy(e.policy, "USD");
        const u = paid([["300.00", at(e.spentAt)]], e.tz);
        const v = evaluatePolicy(p, u, intent({ amountMinor: 1n, atMs: at(e.probe) }), e.tz);
        if (e.fresh) expect(v.outcome, JSON.stringify(codes(v))).to.equal("allow");
        else expect(codes(v)).to.deep.equal([e.code]);
      });
    }

    it("rolling: spend in one 10-minute bucket drops out 24 h after the bucket's latest payment (never early)", () => {
      const p = parsePolicy({ rolling24h: "300.00" }, "USD");
      const t0 = at("2026-01-15T12:00:00Z");
      const u = paid([["200.00", t0], ["100.00", t0 + 5 * 60_000]], NY);
      const probe = (atMs: number) => evaluatePolicy(p, u, intent({ amountMinor: 1n, atMs }), NY).outcome;
      expect(probe(t0 + 24 * H)).to.equal("decline"); // exactness would allow 200.00 here; the bucket is conservative
      expect(probe(t0 + 24 * H + 5 * 60_000 - 1)).to.equal("decline");
      expect(probe(t0 + 24 * H + 5 * 60_000)).to.equal("allow");
    });

    const hours: Array<[string, PolicyInput["activeHours"], string, string, boolean]> = [
      // [name, activeHours, zone, instant, allowed]; 2026-01-16 is a Friday
      ["from is inclusive", { from: "08:00", to: "20:00" }, NY, "2026-01-16T13:00:00Z", true],
      ["1 ms before from", { from: "08:00", to: "20:00" }, NY, "2026-01-16T12:59:59.999Z", false],
      ["to is exclusive", { from: "08:00", to: "20:00" }, NY, "2026-01-17T01:00:00Z", false],
      ["1 minute before to", { from: "08:00", to: "20:00" }, NY, "2026-01-17T00:59:00Z", true],
      ["on the DST day, 08:00 EDT is 12:00 UTC", { from: "08:00", to: "20:00" }, NY, "2026-03-08T12:00:00Z", true],
      ["on the DST day, 07:59 EDT is 11:59 UTC", { from: "08:00", to: "20:00" }, NY, "2026-03-08T11:59:59.999Z", false],
      ["until 24:00 includes 23:59", { from: "08:00", to: "24:00" }, TOKYO, "2026-01-16T14:59:59.999Z", true],
      ["until 24:00 excludes 00:00", { from: "08:00", to: "24:00" }, TOKYO, "2026-01-16T15:00:00Z", false],
      ["crossing midnight: Friday 23:00", { from: "22:00", to: "06:00", days: ["fri"] }, NY, "2026-01-17T04:00:00Z", true],
      ["crossing midnight: Saturday 03:00 belongs to Friday's window", { from: "22:00", to: "06:00", days: ["fri"] }, NY, "2026-01-17T08:00:00Z", true],
      ["crossing midnight: Saturday 06:00 is past the end", { from: "22:00", to: "06:00", days: ["fri"] }, NY, "2026-01-17T11:00:00Z", false],
      ["crossing midnight: Saturday 23:00 is not a window day", { from: "22:00", to: "06:00", days: ["fri"] }, NY, "2026-01-18T04:00:00Z", false],
      ["crossing midnight: Friday 03:00 belongs to Thursday", { from: "22:00", to: "06:00", days: ["fri"] }, NY, "2026-01-16T08:00:00Z", false],
      ["crossing midnight: Friday 21:59", { from: "22:00", to: "06:00" }, NY, "2026-01-17T02:59:59.999Z", false],
      ["crossing midnight: exactly 22:00", { from: "22:00", to: "06:00" }, NY, "2026-01-17T03:00:00Z", true],
      // Lord Howe moves its clocks by 30 minutes at 15:30 UTC: the offset changes inside a UTC hour
      ["Lord Howe: 01:59 LHST, 1 ms before the switch", { from: "02:30", to: "03:00" }, "Australia/Lord_Howe", "2026-10-03T15:29:59.999Z", false],
      ["Lord Howe: the switch jumps to 02:30 LHDT", { from: "02:30", to: "03:00" }, "Australia/Lord_Howe", "2026-10-03T15:30:00Z", true],
      ["Lord Howe: 02:59 LHDT", { from: "02:30", to: "03:00" }, "Australia/Lord_Howe", "2026-10-03T15:59:59.999Z", true],
      ["Lord Howe: 03:00 LHDT", { from: "02:30", to: "03:00" }, "Australia/Lord_Howe", "2026-10-03T16:00:00Z", false],
      ["crossing midnight: Sunday→Monday 01:00 with days [sun]", { from: "20:00", to: "02:00", days: ["sun"] }, NY, "2026-01-19T06:00:00Z", true],
      ["crossing midnight: Monday 01:00 with days [mon] (window began Sunday)", { from: "20:00", to: "02:00", days: ["mon"] }, NY, "2026-01-19T06:00:00Z", false],
    ];
    for (const [name, activeHours, tz, iso, allowed] of hours) {
      it(`active hours: ${name}`, () => {
        const v = evaluatePolicy(parsePolicy({ activeHours }, "USD"), emptyUsage(), intent({ atMs: at(iso) }), tz);
        expect(codes(v)).to.deep.equal(allowed ? [] : ["POLICY_OUTSIDE_ACTIVE_HOURS"]);
      });
    }

    it("expiry: 1 ms before is allowed, at the instant it is declined", () => {
      const p = parsePolicy({ expiresAt: "2026-06-30T23:59:59+02:00" }, "USD");
      const exp = at("2026-06-30T21:59:59Z");
      expect(evaluatePolicy(p, emptyUsage(), intent({ atMs: exp - 1 }), BERLIN).outcome).to.equal("allow");
      expect(codes(evaluatePolicy(p, emptyUsage(), intent({ atMs: exp }), BERLIN))).to.deep.equal(["POLICY_EXPIRED"]);
    });

    it("max payments per day resets at local midnight", () => {
      const p = parsePolicy({ maxPaymentsPerDay: 1 }, "USD");
      const u = paid([["1.00", at("2026-01-15T06:00:00Z")]], TOKYO); // 15:00 Tokyo
      expect(codes(evaluatePolicy(p, u, intent({ atMs: at("2026-01-15T14:59:59.999Z") }), TOKYO))).to.deep.equal(["POLICY_MAX_PAYMENTS_PER_DAY"]);
      expect(evaluatePolicy(p, u, intent({ atMs: at("2026-01-15T15:00:00Z") }), TOKYO).outcome).to.equal("allow");
    });
  });

  describe("usage", () => {
    it("addUsage keeps the current windows and never mutates its input", () => {
      const u0 = emptyUsage();
      const u1 = addUsage(u0, { amountMinor: 100n, atMs: at("2026-01-15T15:00:00Z") }, NY);
      const snapshot = encodeJson(u1);
      const u2 = addUsage(u1, { amountMinor: 50n, atMs: at("2026-01-15T16:00:00Z") }, NY);
      expect(encodeJson(u1)).to.equal(snapshot);
      expect(u0).to.deep.equal(emptyUsage());
      expect(u2.day).to.deep.equal({ id: "2026-01-15", spentMinor: 150n, count: 2 });
      expect(u2.week).to.deep.equal({ id: "2026-W03", spentMinor: 150n });
      expect(u2.month).to.deep.equal({ id: "2026-01", spentMinor: 150n });
      expect(u2.rolling.totalMinor).to.equal(150n);
      const u3 = addUsage(u2, { amountMinor: 7n, atMs: at("2026-01-16T05:00:00Z") }, NY); // next local day, same week
      expect(u3.day).to.deep.equal({ id: "2026-01-16", spentMinor: 7n, count: 1 });
      expect(u3.week).to.deep.equal({ id: "2026-W03", spentMinor: 157n });
    });

    it("a payment dated in an earlier window counts in the latest window seen (windows never reopen when the clock goes back)", () => {
      const u = paid([["5.00", at("2026-01-16T15:00:00Z")]], NY);
      const late = addUsage(u, { amountMinor: 100n, atMs: at("2026-01-15T15:00:00Z") }, NY);
      expect(late.day).to.deep.equal({ id: u.day!.id, spentMinor: 600n, count: 2 });
      expect(late.week!.spentMinor).to.equal(600n); // same ISO week
      expect(late.rolling.totalMinor).to.equal(600n);
    });

    it("stays bounded and JSON-serialisable over a week of payments every minute", () => {
      let u = emptyUsage();
      const t0 = at("2026-03-02T00:00:00Z");
      for (let i = 0; i < 7 * 24 * 60; i++) u = addUsage(u, { amountMinor: 1n, atMs: t0 + i * 60_000 }, BERLIN);
      expect(u.rolling.buckets.length).to.be.at.most(MAX_ROLLING_BUCKETS);
      expect(u.rolling.totalMinor).to.equal(u.rolling.buckets.reduce((s, b) => s + b.spentMinor, 0n));
      expect(encodeJson(u).length).to.be.below(20_000);
      const back = decodeJson<Usage>(encodeJson(u));
      expect(back).to.deep.equal(u);
      expect(typeof back.rolling.totalMinor).to.equal("bigint");
      const last = t0 + (7 * 24 * 60 - 1) * 60_000;
      const st = budgetStatus(parsePolicy({ rolling24h: "100.00" }, "USD"), back, last, BERLIN);
      expect(Number(st.rolling24h.usedMinor)).to.be.within(1440, 1449); // 24 h of 1-minute payments, plus at most one bucket
    });

    it("stays bounded even when timestamps run backwards", () => {
      let u = emptyUsage();
      const t0 = at("2026-03-02T00:00:00Z");
      for (let i = 0; i < 2000; i++) u = addUsage(u, { amountMinor: 1n, atMs: t0 + ((i * 7919) % 2000) * 10 * 60_000 }, "UTC");
      expect(u.rolling.buckets.length).to.be.at.most(MAX_ROLLING_BUCKETS);
      expect(u.rolling.totalMinor).to.equal(u.rolling.buckets.reduce((s, b) => s + b.spentMinor, 0n));
    });

    it("refuses negative or non-bigint amounts and bad timestamps", () => {
      expectError(() => addUsage(emptyUsage(), { amountMinor: -1n, atMs: 0 }, NY), "INVALID_AMOUNT");
      expectError(() => addUsage(emptyUsage(), { amountMinor: 1 as unknown as bigint, atMs: 0 }, NY), "INVALID_AMOUNT");
      expectError(() => addUsage(emptyUsage(), { amountMinor: 1n, atMs: 1.5 }, NY), "INVALID_INPUT");
      expectError(() => removeUsage(emptyUsage(), { amountMinor: 1n, atMs: 0, originalAtMs: Number.NaN }, NY), "INVALID_INPUT", "removal.originalAtMs");
    });

    describe("removeUsage (refunds and voids)", () => {
      const policy = parsePolicy({ daily: "300.00", weekly: "300.00", monthly: "300.00", rolling24h: "300.00", maxPaymentsPerDay: 1 }, "USD");
      const paidAt = at("2026-01-14T15:00:00Z"); // Wednesday 10:00 NY
      const full = paid([["300.00", paidAt]], NY);

      const table: Array<{ name: string; refundAt: number; amount: string; cancels?: boolean;
        expect: { day: bigint; week: bigint; month: bigint; rolling: bigint; count: number } }> = [
        { name: "same day: every window gets the refund back", refundAt: paidAt + H, amount: "100.00",
          expect: { day: 20000n, week: 20000n, month: 20000n, rolling: 20000n, count: 1 } },
        { name: "void the same day also gives back the payment count", refundAt: paidAt + H, amount: "300.00", cancels: true,
          expect: { day: 0n, week: 0n, month: 0n, rolling: 0n, count: 0 } },
        { name: "next day: the finished day is not touched, week/month/rolling are", refundAt: paidAt + 20 * H, amount: "100.00",
          expect: { day: 30000n, week: 20000n, month: 20000n, rolling: 20000n, count: 1 } },
        { name: "next week, 1 ms before 24 h", refundAt: at("2026-01-19T05:00:00Z"), amount: "100.00",
          expect: { day: 30000n, week: 30000n, month: 20000n, rolling: 30000n, count: 1 } },
        { name: "more than was counted never goes below zero", refundAt: paidAt + H, amount: "999.00",
          expect: { day: 0n, week: 0n, month: 0n, rolling: 0n, count: 1 } },
        { name: "after 24 h the rolling bucket has dropped out", refundAt: paidAt + 24 * H, amount: "100.00",
          expect: { day: 30000n, week: 20000n, month: 20000n, rolling: 30000n, count: 1 } },
      ];
      for (const c of table) {
        it(c.name, () => {
          const before = encodeJson(full);
          const u = removeUsage(full, { amountMinor: usd(c.amount), atMs: c.refundAt, originalAtMs: paidAt, cancelsPayment: c.cancels }, NY);
          expect(encodeJson(full)).to.equal(before);
          expect(u.day!.spentMinor, "day").to.equal(c.expect.day);
          expect(u.day!.count, "count").to.equal(c.expect.count);
          expect(u.week!.spentMinor, "week").to.equal(c.expect.week);
          expect(u.month!.spentMinor, "month").to.equal(c.expect.month);
          expect(u.rolling.buckets[0]!.spentMinor, "rolling bucket").to.equal(c.expect.rolling);
          expect(u.rolling.totalMinor).to.equal(u.rolling.buckets.reduce((s, b) => s + b.spentMinor, 0n));
        });
      }

      it("a refund makes room for a payment that was declined before", () => {
        const t = paidAt + 2 * H;
        const p = parsePolicy({ daily: "300.00", rolling24h: "300.00" }, "USD");
        expect(codes(evaluatePolicy(p, full, intent({ amountMinor: usd("50.00"), atMs: t }), NY)))
          .to.deep.equal(["POLICY_DAILY_BUDGET_EXCEEDED", "POLICY_ROLLING_BUDGET_EXCEEDED"]);
        const refunded = removeUsage(full, { amountMinor: usd("50.00"), atMs: t, originalAtMs: paidAt }, NY);
        expect(evaluatePolicy(p, refunded, intent({ amountMinor: usd("50.00"), atMs: t }), NY).outcome).to.equal("allow");
        expect(evaluatePolicy(p, refunded, intent({ amountMinor: usd("50.01"), atMs: t }), NY).outcome).to.equal("decline");
      });

      it("a void gives back the day's payment slot; a refund does not", () => {
        const t = paidAt + H;
        const i = intent({ amountMinor: 1n, atMs: t });
        const refunded = removeUsage(full, { amountMinor: usd("300.00"), atMs: t, originalAtMs: paidAt }, NY);
        expect(codes(evaluatePolicy(policy, refunded, i, NY))).to.deep.equal(["POLICY_MAX_PAYMENTS_PER_DAY"]);
        const voided = removeUsage(full, { amountMinor: usd("300.00"), atMs: t, originalAtMs: paidAt, cancelsPayment: true }, NY);
        expect(evaluatePolicy(policy, voided, i, NY).outcome).to.equal("allow");
      });

      it("removing from empty usage, or a payment from a past window, changes nothing", () => {
        const e = emptyUsage();
        expect(removeUsage(e, { amountMinor: 5n, atMs: paidAt, originalAtMs: paidAt }, NY)).to.equal(e);
        const later = paid([["1.00", at("2026-02-20T15:00:00Z")]], NY);
        expect(removeUsage(later, { amountMinor: 5n, atMs: at("2026-02-20T16:00:00Z"), originalAtMs: paidAt }, NY)).to.equal(later);
      });
    });
  });

  describe("budgetStatus", () => {
    it("reports used, limit, remaining and percent per window", () => {
      const p = parsePolicy({ daily: "300.00", weekly: "1000.00", rolling24h: "0", maxPaymentsPerDay: 5 }, "USD");
      const t = at("2026-01-14T17:00:00Z");
      const u = paid([["100.00", at("2026-01-13T17:00:00Z")], ["150.00", t - H]], NY);
      expect(budgetStatus(p, u, t, NY)).to.deep.equal({
        currency: "USD",
        daily: { window: "daily", windowId: "2026-01-14", usedMinor: 15000n, limitMinor: 30000n, remainingMinor: 15000n, usedPercent: 50 },
        weekly: { window: "weekly", windowId: "2026-W03", usedMinor: 25000n, limitMinor: 100000n, remainingMinor: 75000n, usedPercent: 25 },
        monthly: { window: "monthly", windowId: "2026-01", usedMinor: 25000n },
        rolling24h: { window: "rolling24h", usedMinor: 15000n, limitMinor: 0n, remainingMinor: 0n, usedPercent: 100 },
        paymentsToday: { count: 1, max: 5 },
      });
      const next = budgetStatus(p, u, at("2026-01-15T05:00:00Z"), NY);
      expect(next.daily.usedMinor).to.equal(0n);
      expect(next.paymentsToday).to.deep.equal({ count: 0, max: 5 });
      expect(next.weekly.usedMinor).to.equal(25000n);
    });

    it("percent floors and can exceed 100 after a policy is lowered", () => {
      const u = paid([["200.00", at("2026-01-14T15:00:00Z")]], NY);
      const t = at("2026-01-14T16:00:00Z");
      expect(budgetStatus(parsePolicy({ daily: "300.00" }, "USD"), u, t, NY).daily.usedPercent).to.equal(66);
      expect(budgetStatus(parsePolicy({ daily: "100.00" }, "USD"), u, t, NY).daily).to.include({ usedPercent: 200, remainingMinor: 0n });
    });
  });
});
