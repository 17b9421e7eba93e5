import { expect } from "chai";
import { AgentPay, ManualClock, amount } from "../../src/index.ts";
import { MemoryStore } from "../../src/engine/index.ts";
import { rejectsWith } from "../ledger/helpers.ts";

const usd = (s: string) => amount(s, "USD");

async function setup() {
  const store = new MemoryStore();
  const clock = new ManualClock(Date.UTC(2026, 2, 10, 15, 0));
  const pay = await AgentPay.open({ store, clock });
  const wallet = await pay.wallets.create({ ownerId: "alice", currency: "USD", timeZone: "America/New_York" });
  await pay.wallets.deposit(wallet.id, usd("500.00"), { idempotencyKey: "dep-1" });
  return { pay, wallet, store, clock };
}

describe("wallets", () => {
  it("deposits and withdraws idempotently, never below zero", async () => {
    const { pay, wallet } = await setup();
    await pay.wallets.deposit(wallet.id, usd("500.00"), { idempotencyKey: "dep-1" });
    expect(pay.wallets.balance(wallet.id).postedMinor).to.equal(50000n);
    await rejectsWith(pay.wallets.deposit(wallet.id, usd("1.00"), { idempotencyKey: "dep-1" }), "IDEMPOTENCY_CONFLICT");
    await pay.wallets.withdraw(wallet.id, usd("100.00"), { idempotencyKey: "w-1" });
    await pay.wallets.withdraw(wallet.id, usd("100.00"), { idempotencyKey: "w-1" });
    expect(pay.wallets.balance(wallet.id).postedMinor).to.equal(40000n);
    await rejectsWith(pay.wallets.withdraw(wallet.id, usd("400.01"), { idempotencyKey: "w-2" }), "INSUFFICIENT_FUNDS");
    expect(pay.ledger.check().ok).to.equal(true);
  });

  it("creates a sub-wallet with a budget moved from the wallet and a versioned policy", async () => {
    const { pay, wallet } = await setup();
    const travel = await pay.wallets.createSubWallet(wallet.id, {
      name: "travel", budget: usd("200.00"),
      policy: { perPayment: "150.00", daily: "300.00", approvalAbove: "100.00", categories: { allow: ["4511", "7011"] } },
    });
    expect(travel.policy.version).to.equal(1);
    expect(pay.wallets.balance(travel.id).postedMinor).to.equal(20000n);
    expect(pay.wallets.balance(wallet.id).postedMinor).to.equal(30000n);
    const updated = await pay.wallets.updatePolicy(travel.id, { perPayment: "50.00" });
    expect(updated.policy.version).to.equal(2);
    expect(pay.wallets.policyOf(travel.id)).to.deep.include({ perPayment: "50.00", version: 2 });
    expect(pay.wallets.listSubWallets(wallet.id).map((s) => s.id)).to.deep.equal([travel.id]);
    expect(pay.wallets.list({ ownerId: "alice" }).map((w) => w.id)).to.deep.equal([wallet.id]);
  });

  it("refuses a sub-wallet budget larger than the wallet: nothing is created", async () => {
    const { pay, wallet } = await setup();
    const records = pay.engine.stats.records;
    await rejectsWith(pay.wallets.createSubWallet(wallet.id, { name: "big", budget: usd("500.01") }), "INSUFFICIENT_FUNDS");
    expect(pay.engine.stats.records).to.equal(records);
    expect(pay.wallets.listSubWallets(wallet.id)).to.deep.equal([]);
  });

  it("moves budget in and out, freezes, unfreezes and closes (the rest returns)", async () => {
    const { pay, wallet } = await setup();
    const sw = await pay.wallets.createSubWallet(wallet.id, { name: "groceries", budget: usd("100.00") });
    await pay.wallets.fundSubWallet(sw.id, usd("50.00"), { idempotencyKey: "f1" });
    await pay.wallets.defundSubWallet(sw.id, usd("20.00"), { idempotencyKey: "d1" });
    expect(pay.wallets.balance(sw.id).postedMinor).to.equal(13000n);
    expect((await pay.wallets.freeze(sw.id)).status).to.equal("frozen");
    expect((await pay.wallets.unfreeze(sw.id)).status).to.equal("active");
    const closed = await pay.wallets.close(sw.id);
    expect(closed.status).to.equal("closed");
    expect(pay.wallets.balance(sw.id).postedMinor).to.equal(0n);
    expect(pay.wallets.balance(wallet.id).postedMinor).to.equal(50000n);
    await rejectsWith(pay.wallets.fundSubWallet(sw.id, usd("1.00"), { idempotencyKey: "f2" }), "SUBWALLET_CLOSED");
    await rejectsWith(pay.wallets.unfreeze(sw.id), "SUBWALLET_CLOSED");
    expect(pay.ledger.check().ok).to.equal(true);
  });

  it("refuses to close a sub-wallet with pending holds", async () => {
    const { pay, wallet } = await setup();
    const sw = await pay.wallets.createSubWallet(wallet.id, { name: "x", budget: usd("10.00") });
    await pay.ledger.createAccount({ id: "m", currency: "USD" });
    await pay.ledger.transfer({ id: "h", debitAccountId: sw.accountId, creditAccountId: "m", amount: usd("1.00"), pending: true });
    await rejectsWith(pay.wallets.close(sw.id), "SUBWALLET_HAS_HOLDS");
  });

  it("validates input and changes nothing on bad input", async () => {
    const { pay, wallet } = await setup();
    const records = pay.engine.stats.records;
    await rejectsWith(pay.wallets.create({ ownerId: "bob", currency: "XXX", timeZone: "UTC" }), "UNKNOWN_CURRENCY");
    await rejectsWith(pay.wallets.create({ ownerId: "bob", currency: "USD", timeZone: "Mars/Olympus" }), "INVALID_INPUT");
    await rejectsWith(pay.wallets.create({ ownerId: "", currency: "USD", timeZone: "UTC" }), "INVALID_ID");
    await rejectsWith(pay.wallets.create({ ownerId: "bob", currency: "USD" } as never), "INVALID_INPUT");
    await rejectsWith(pay.wallets.deposit(wallet.id, amount("1.00", "EUR"), { idempotencyKey: "e" }), "CURRENCY_MISMATCH");
    await rejectsWith(pay.wallets.deposit(wallet.id, { minor: -5n, currency: "USD" }, { idempotencyKey: "n" }), "INVALID_AMOUNT");
    await rejectsWith(pay.wallets.deposit(wallet.id, usd("1.00"), {} as never), "INVALID_ID");
    await rejectsWith(pay.wallets.deposit("wal_nope0000000", usd("1.00"), { idempotencyKey: "x" }), "WALLET_NOT_FOUND");
    await rejectsWith(pay.wallets.createSubWallet(wallet.id, { name: "" }), "INVALID_INPUT");
    await rejectsWith(pay.wallets.createSubWallet(wallet.id, { name: "ok", policy: { perPayment: "1.001" } }), "INVALID_AMOUNT");
    await rejectsWith(pay.wallets.createSubWallet(wallet.id, { name: "ok", policy: { bogus: 1 } as never }), "INVALID_INPUT");
    expect(pay.engine.stats.records).to.equal(records);
  });

  it("survives a reopen: wallets, sub-wallets, policies and indexes", async () => {
    const { pay, wallet, store, clock } = await setup();
    const sw = await pay.wallets.createSubWallet(wallet.id, { name: "travel", budget: usd("20.00"), policy: { daily: "10.00" } });
    await pay.close();
    const again = await AgentPay.open({ store, clock });
    expect(again.wallets.getSubWallet(sw.id)).to.deep.equal(sw);
    expect(again.wallets.listSubWallets(wallet.id)).to.have.length(1);
    expect(again.wallets.budget(sw.id).daily.limitMinor).to.equal(1000n);
    expect(again.wallets.balance(sw.id).postedMinor).to.equal(2000n);
  });

  it("a retried createSubWallet with the same idempotency key creates nothing new; budget moves keep their own keys", async () => {
    const { pay, wallet } = await setup();
    const input = { name: "travel", budget: usd("100.00"), policy: { daily: "50.00" }, idempotencyKey: "create-travel" };
    const a = await pay.wallets.createSubWallet(wallet.id, input);
    const b = await pay.wallets.createSubWallet(wallet.id, input);
    expect(b.id).to.equal(a.id);
    expect(pay.wallets.listSubWallets(wallet.id)).to.have.length(1);
    expect(pay.wallets.balance(wallet.id).postedMinor).to.equal(40000n);
    await rejectsWith(pay.wallets.createSubWallet(wallet.id, { ...input, budget: usd("1.00") }), "IDEMPOTENCY_CONFLICT");
    // A caller's key can never collide with the creation's own budget transfer.
    await pay.wallets.fundSubWallet(a.id, usd("20.00"), { idempotencyKey: "initial" });
    expect(pay.wallets.balance(a.id).postedMinor).to.equal(12000n);
  });

  it("getters hand out frozen records: nothing changes behind the engine's back", async () => {
    const { pay, wallet } = await setup();
    const sw = await pay.wallets.createSubWallet(wallet.id, { name: "x", budget: usd("1.00"), policy: { daily: "5.00" } });
    expect(() => { (pay.wallets.getSubWallet(sw.id) as { status: string }).status = "closed"; }).to.throw(TypeError);
    expect(() => { (pay.wallets.getSubWallet(sw.id).policy as { dailyMinor: bigint }).dailyMinor = 1n; }).to.throw(TypeError);
    expect(pay.wallets.getSubWallet(sw.id).status).to.equal("active");
  });

  it("stores a copy of the notification rules and never shows a channel secret", async () => {
    const { pay, wallet } = await setup();
    const rule = { when: "payment", channel: { kind: "webhook", url: "http://127.0.0.1:9/n", secret: "s3cret-s3cret-s3cret" } };
    const sw = await pay.wallets.createSubWallet(wallet.id, { name: "n", policy: { notify: [rule] } });
    rule.when = "bogus";
    expect(JSON.stringify(pay.wallets.getSubWallet(sw.id)) + JSON.stringify(pay.wallets.policyOf(sw.id))).to.not.contain("s3cret");
    expect((pay.wallets.getSubWallet(sw.id).policy.notify![0] as { when: string }).when).to.equal("payment");
  });
});
