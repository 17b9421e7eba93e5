import { expect } from "chai";
import { AgentPayError } from "../src/index.ts";
import { world } from "./payments/helpers.ts";

/**
 * Every public entry point, fed garbage: it must refuse with an AgentPayError (never a
 * TypeError or a crash) and change nothing.
 */
const show = (g: unknown): string =>
  typeof g === "symbol" ? "symbol" : typeof g === "function" ? "function" : JSON.stringify(g, (_k, v) => (typeof v === "bigint" ? `${v}n` : v)) ?? String(g);

/** Inputs that are legitimately valid for a call (so they may change state). */
const VALID: Record<string, unknown[]> = {
  "wallets.updatePolicy": [{}],                // "no rules"
  "agents.rotateKey": [undefined, {}],         // "generate a new key"
  "wallets.statement": [undefined, {}],        // default paging
  "grants.list": [undefined, {}],              // every grant
};

describe("public API against garbage input", () => {
  it("refuses with AgentPayError and changes nothing", async () => {
    const w = await world();
    const { pay, client } = w;
    const garbage: unknown[] = [null, undefined, 42, "x", {}, [], { minor: 1 }, { minor: -1n, currency: "USD" }, Symbol("s"), () => 1];
    const calls: Array<[string, (g: never) => unknown]> = [
      ["wallets.create", (g) => pay.wallets.create(g)],
      ["wallets.deposit.id", (g) => pay.wallets.deposit(g, { minor: 1n, currency: "USD" }, { idempotencyKey: "k" })],
      ["wallets.deposit.amount", (g) => pay.wallets.deposit(w.wallet.id, g, { idempotencyKey: "k" })],
      ["wallets.deposit.opts", (g) => pay.wallets.deposit(w.wallet.id, { minor: 1n, currency: "USD" }, g)],
      ["wallets.withdraw", (g) => pay.wallets.withdraw(w.wallet.id, g, { idempotencyKey: "k2" })],
      ["wallets.createSubWallet", (g) => pay.wallets.createSubWallet(w.wallet.id, g)],
      ["wallets.updatePolicy", (g) => pay.wallets.updatePolicy(w.travel.id, g)],
      ["wallets.freeze", (g) => pay.wallets.freeze(g)],
      ["wallets.balance", (g) => pay.wallets.balance(g)],
      ["wallets.statement", (g) => pay.wallets.statement(w.travel.id, g)],
      ["agents.register", (g) => pay.agents.register(g)],
      ["agents.rotateKey", (g) => pay.agents.rotateKey(w.agent.id, g)],
      ["grants.create", (g) => pay.grants.create(g)],
      ["grants.revoke", (g) => pay.grants.revoke(g)],
      ["grants.list", (g) => pay.grants.list(g)],
      ["merchants.register", (g) => pay.merchants.register(g)],
      ["merchants.setStatus", (g) => pay.merchants.setStatus(w.air.merchant.id, g)],
      ["approvals.approve", (g) => pay.approvals.approve(g)],
      ["approvals.deny.opts", (g) => pay.approvals.deny("apr_00000000000000", g)],
      ["payments.authorize", (g) => pay.payments.authorize(g)],
      ["payments.redeem", (g) => pay.payments.redeem(g)],
      ["payments.refund", (g) => pay.payments.refund(g)],
      ["payments.voidByMerchant", (g) => pay.payments.voidByMerchant(g)],
      ["payments.voidByAgent", (g) => pay.payments.voidByAgent(g)],
      ["payments.fetchToken", (g) => pay.payments.fetchToken(g)],
      ["payments.get", (g) => pay.payments.get(g)],
      ["payments.list", (g) => pay.payments.list(g)],
      ["tokens.verify.token", (g) => pay.tokens.verify(g, { merchantId: w.air.merchant.id })],
      ["tokens.verify.opts", (g) => pay.tokens.verify("a.b.c", g)],
      ["ledger.transfer", (g) => pay.ledger.transfer(g)],
      ["ledger.post", (g) => pay.ledger.post(g)],
      ["ledger.createAccount", (g) => pay.ledger.createAccount(g)],
      ["client.requestPayment", (g) => client.requestPayment(g)],
      ["risk.loadRules", (g) => pay.risk?.loadRules(g) ?? (() => { throw new AgentPayError("INVALID_INPUT", "no risk engine"); })()],
    ];
    const failures: string[] = [];
    for (const [name, call] of calls) {
      for (const g of garbage) {
        const valid = VALID[name]?.some((v) => show(v) === show(g)) ?? false;
        const r0 = pay.engine.stats.records;
        try {
          await call(g as never);
          if (!valid && name !== "tokens.verify.opts") failures.push(`${name}(${show(g)}) was accepted`);
        } catch (e) {
          if (!(e instanceof AgentPayError)) failures.push(`${name}(${show(g)}): ${(e as Error)?.constructor?.name} ${(e as Error)?.message}`);
        }
        if (pay.engine.stats.records !== r0 && !valid) failures.push(`${name}(${show(g)}) changed state`);
      }
    }
    expect(failures).to.deep.equal([]);
    expect(pay.ledger.check().ok).to.equal(true);
  });
});
