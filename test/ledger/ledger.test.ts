import { expect } from "chai";
import { amount } from "../../src/core/index.ts";
import { openLedger, rejectsWith } from "./helpers.ts";

const usd = (s: string) => amount(s, "USD");

async function fundedWallet() {
  const h = await openLedger();
  const { ledger } = h;
  await ledger.createAccount({ id: "funding", currency: "USD" });
  await ledger.createAccount({ id: "wallet", currency: "USD", flags: { debitsMustNotExceedCredits: true } });
  await ledger.createAccount({ id: "merchant", currency: "USD" });
  await ledger.transfer({ id: "dep-1", debitAccountId: "funding", creditAccountId: "wallet", amount: usd("100.00") });
  return h;
}

describe("ledger", () => {
  it("posts single transfers and keeps balances and conservation", async () => {
    const { ledger } = await fundedWallet();
    await ledger.transfer({ debitAccountId: "wallet", creditAccountId: "merchant", amount: usd("30.00") });
    expect(ledger.balance("wallet").postedMinor).to.equal(7000n);
    expect(ledger.balance("merchant").postedMinor).to.equal(3000n);
    expect(ledger.balance("funding").postedMinor).to.equal(-10000n);
    expect(ledger.check().ok).to.equal(true);
  });

  it("refuses to take a limited account below zero", async () => {
    const { ledger } = await fundedWallet();
    await rejectsWith(ledger.transfer({ debitAccountId: "wallet", creditAccountId: "merchant", amount: usd("100.01") }), "INSUFFICIENT_FUNDS");
    expect(ledger.balance("wallet").postedMinor).to.equal(10000n);
  });

  it("two-phase: hold, partial post releases the rest, resolves at most once", async () => {
    const { ledger } = await fundedWallet();
    await ledger.transfer({ id: "hold", debitAccountId: "wallet", creditAccountId: "merchant", amount: usd("60.00"), pending: true });
    expect(ledger.balance("wallet")).to.include({ postedMinor: 10000n, pendingDebitsMinor: 6000n, availableMinor: 4000n });
    await rejectsWith(ledger.transfer({ debitAccountId: "wallet", creditAccountId: "merchant", amount: usd("40.01") }), "INSUFFICIENT_FUNDS");
    await rejectsWith(ledger.post({ pendingId: "hold", amount: usd("60.01") }), "LIMIT_EXCEEDED");
    const post = await ledger.post({ id: "cap", pendingId: "hold", amount: usd("45.50") });
    expect(post.amountMinor).to.equal(4550n);
    expect(ledger.balance("wallet")).to.include({ postedMinor: 5450n, pendingDebitsMinor: 0n, availableMinor: 5450n });
    expect(ledger.balance("merchant").postedMinor).to.equal(4550n);
    expect(ledger.getTransfer("hold")).to.include({ state: "posted", resolvedById: "cap" });
    await rejectsWith(ledger.post({ pendingId: "hold" }), "TRANSFER_ALREADY_RESOLVED");
    await rejectsWith(ledger.void({ pendingId: "hold" }), "TRANSFER_ALREADY_RESOLVED");
    expect(ledger.check().ok).to.equal(true);
  });

  it("void releases a hold in full", async () => {
    const { ledger } = await fundedWallet();
    await ledger.transfer({ id: "h", debitAccountId: "wallet", creditAccountId: "merchant", amount: usd("10.00"), pending: true });
    await ledger.void({ pendingId: "h" });
    expect(ledger.balance("wallet")).to.include({ availableMinor: 10000n, pendingDebitsMinor: 0n });
    expect(ledger.balance("merchant")).to.include({ postedMinor: 0n, pendingCreditsMinor: 0n });
    await rejectsWith(ledger.void({ pendingId: "nope" }), "TRANSFER_NOT_FOUND");
    await rejectsWith(ledger.void({ pendingId: "dep-1" }), "TRANSFER_NOT_PENDING");
  });

  it("expires holds: post after expiry fails, the sweeper releases them", async () => {
    const { ledger, clock } = await fundedWallet();
    await ledger.transfer({ id: "h1", debitAccountId: "wallet", creditAccountId: "merchant", amount: usd("10.00"), pending: true, timeoutMs: 60_000 });
    await ledger.transfer({ id: "h2", debitAccountId: "wallet", creditAccountId: "merchant", amount: usd("5.00"), pending: true, timeoutMs: 120_000 });
    clock.advance(59_999);
    expect(await ledger.expireDue()).to.equal(0);
    clock.advance(1);
    await rejectsWith(ledger.post({ pendingId: "h1" }), "TRANSFER_EXPIRED");
    expect(await ledger.expireDue()).to.equal(1);
    expect(ledger.getTransfer("h1")?.state).to.equal("expired");
    expect(ledger.balance("wallet").availableMinor).to.equal(9500n);
    await ledger.post({ pendingId: "h2" });
    clock.advance(200_000);
    expect(await ledger.expireDue()).to.equal(0);
    expect(ledger.check().ok).to.equal(true);
  });

  it("transfer ids are idempotency keys", async () => {
    const { ledger } = await fundedWallet();
    const a = await ledger.transfer({ id: "pay-1", debitAccountId: "wallet", creditAccountId: "merchant", amount: usd("1.00") });
    const b = await ledger.transfer({ id: "pay-1", debitAccountId: "wallet", creditAccountId: "merchant", amount: usd("1.00") });
    expect(b).to.deep.equal(a);
    expect(ledger.balance("wallet").postedMinor).to.equal(9900n);
    await rejectsWith(ledger.transfer({ id: "pay-1", debitAccountId: "wallet", creditAccountId: "merchant", amount: usd("2.00") }), "IDEMPOTENCY_CONFLICT");
    expect(ledger.balance("wallet").postedMinor).to.equal(9900n);
  });

  it("linked transfers commit together or not at all", async () => {
    const { ledger } = await fundedWallet();
    await ledger.createAccount({ id: "fee", currency: "USD" });
    const err = await rejectsWith(ledger.transferLinked([
      { op: "transfer", id: "l1", debitAccountId: "wallet", creditAccountId: "merchant", amount: usd("50.00") },
      { op: "transfer", id: "l2", debitAccountId: "wallet", creditAccountId: "fee", amount: usd("60.00") },
    ]), "LINKED_TRANSFER_FAILED");
    expect(err.details).to.include({ index: 1, causeCode: "INSUFFICIENT_FUNDS" });
    expect(ledger.getTransfer("l1")).to.equal(undefined);
    expect(ledger.balance("wallet").postedMinor).to.equal(10000n);
    const ok = await ledger.transferLinked([
      { op: "transfer", id: "l3", debitAccountId: "wallet", creditAccountId: "merchant", amount: usd("50.00") },
      { op: "transfer", id: "l4", debitAccountId: "wallet", creditAccountId: "fee", amount: usd("0.50") },
    ]);
    expect(ok).to.have.length(2);
    expect(ledger.balance("wallet").postedMinor).to.equal(4950n);
  });

  it("pages an account statement in commit order with running balances", async () => {
    const { ledger } = await fundedWallet();
    for (let i = 1; i <= 5; i++) {
      await ledger.transfer({ id: `p${i}`, debitAccountId: "wallet", creditAccountId: "merchant", amount: usd(`${i}.00`) });
    }
    const p1 = ledger.statement("wallet", { limit: 4 });
    expect(p1.entries.map((e) => e.transferId)).to.deep.equal(["dep-1", "p1", "p2", "p3"]);
    expect(p1.entries.map((e) => e.balanceAfterMinor)).to.deep.equal([10000n, 9900n, 9700n, 9400n]);
    expect(p1.entries[0]!.direction).to.equal("credit");
    const p2 = ledger.statement("wallet", { limit: 4, cursor: p1.nextCursor! });
    expect(p2.entries.map((e) => e.transferId)).to.deep.equal(["p4", "p5"]);
    expect(p2.nextCursor).to.equal(undefined);
    expect(() => ledger.statement("wallet", { cursor: "abc" })).to.throw().with.property("code", "INVALID_INPUT");
  });

  it("reopening restores exactly the acknowledged state, indexes included", async () => {
    const { pay, ledger, store, clock } = await fundedWallet();
    await ledger.transfer({ id: "h", debitAccountId: "wallet", creditAccountId: "merchant", amount: usd("10.00"), pending: true, timeoutMs: 1_000 });
    await ledger.transfer({ id: "p", debitAccountId: "wallet", creditAccountId: "merchant", amount: usd("1.00") });
    const before = { w: ledger.balance("wallet"), s: ledger.statement("wallet") };
    await pay.close();
    const again = await openLedger(store, clock);
    expect(again.ledger.balance("wallet")).to.deep.equal(before.w);
    expect(again.ledger.statement("wallet")).to.deep.equal(before.s);
    clock.advance(1_000);
    expect(await again.ledger.expireDue()).to.equal(1); // the expiry queue was rebuilt on load
    const next = await again.ledger.transfer({ id: "q", debitAccountId: "wallet", creditAccountId: "merchant", amount: usd("1.00") });
    expect(next.seq).to.be.greaterThan(before.s.entries[before.s.entries.length - 1]!.seq);
    expect(again.ledger.check().ok).to.equal(true);
  });

  describe("bad input changes nothing", () => {
    it("rejects each kind of bad input with a clear code", async () => {
      const { ledger, pay } = await fundedWallet();
      await ledger.createAccount({ id: "eur", currency: "EUR" });
      const recordsBefore = pay.engine.stats.records;
      const t = (amt: unknown, extra: Record<string, unknown> = {}) =>
        ledger.transfer({ debitAccountId: "wallet", creditAccountId: "merchant", amount: amt as never, ...extra });
      await rejectsWith(t({ minor: -1n, currency: "USD" }), "INVALID_AMOUNT");
      await rejectsWith(t({ minor: 0n, currency: "USD" }), "INVALID_AMOUNT");
      await rejectsWith(t({ minor: 1.5, currency: "USD" }), "INVALID_AMOUNT");
      await rejectsWith(t({ minor: 1n << 127n, currency: "USD" }), "INVALID_AMOUNT");
      await rejectsWith(t({ minor: 2n ** 200n, currency: "USD" }), "INVALID_AMOUNT");
      await rejectsWith(t("12.00"), "INVALID_AMOUNT");
      await rejectsWith(t({ minor: 1n, currency: "XYZ" }), "UNKNOWN_CURRENCY");
      await rejectsWith(t({ minor: 1n, currency: "EUR" }), "CURRENCY_MISMATCH");
      await rejectsWith(ledger.transfer({ debitAccountId: "wallet", creditAccountId: "eur", amount: usd("1.00") }), "CURRENCY_MISMATCH");
      await rejectsWith(ledger.transfer({ debitAccountId: "wallet", creditAccountId: "ghost", amount: usd("1.00") }), "ACCOUNT_NOT_FOUND");
      await rejectsWith(ledger.transfer({ debitAccountId: "wallet", creditAccountId: "wallet", amount: usd("1.00") }), "INVALID_INPUT");
      await rejectsWith(ledger.transfer({ debitAccountId: "bad id!", creditAccountId: "merchant", amount: usd("1.00") }), "INVALID_ID");
      await rejectsWith(ledger.transfer({ id: "", debitAccountId: "wallet", creditAccountId: "merchant", amount: usd("1.00") }), "INVALID_ID");
      await rejectsWith(t(usd("1.00"), { timeoutMs: 5 }), "INVALID_INPUT");
      await rejectsWith(t(usd("1.00"), { pending: true, timeoutMs: -5 }), "INVALID_INPUT");
      await rejectsWith(t(usd("1.00"), { metadata: { k: 5 } }), "INVALID_INPUT");
      await rejectsWith(ledger.transfer(null as never), "INVALID_INPUT");
      await rejectsWith(ledger.createAccount({ id: "x", currency: "ABC" }), "UNKNOWN_CURRENCY");
      await rejectsWith(ledger.createAccount({ id: "x", currency: "USD", flags: { debitsMustNotExceedCredits: true, creditsMustNotExceedDebits: true } }), "INVALID_INPUT");
      await rejectsWith(ledger.createAccount({ id: "wallet", currency: "EUR" }), "ACCOUNT_EXISTS");
      expect(pay.engine.stats.records).to.equal(recordsBefore);
      expect(ledger.balance("wallet").postedMinor).to.equal(10000n);
      expect(ledger.check().ok).to.equal(true);
    });
  });

  it("1,000 concurrent transfers from an account that can afford 10: exactly 10 succeed", async () => {
    const { ledger } = await openLedger();
    await ledger.createAccount({ id: "src", currency: "USD" });
    await ledger.createAccount({ id: "w", currency: "USD", flags: { debitsMustNotExceedCredits: true } });
    await ledger.createAccount({ id: "m", currency: "USD" });
    await ledger.transfer({ debitAccountId: "src", creditAccountId: "w", amount: usd("10.00") });
    const results = await Promise.allSettled(Array.from({ length: 1_000 }, () =>
      ledger.transfer({ debitAccountId: "w", creditAccountId: "m", amount: usd("1.00") })));
    const ok = results.filter((r) => r.status === "fulfilled");
    const failed = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    expect(ok).to.have.length(10);
    expect(failed).to.have.length(990);
    for (const f of failed) expect(f.reason.code).to.equal("INSUFFICIENT_FUNDS");
    expect(ledger.balance("w").postedMinor).to.equal(0n);
    expect(ledger.check().ok).to.equal(true);
  });
});
