// `agentpay demo`: the whole story over real HTTP in one process, on an in-memory server: a person sets
// up a wallet, a sub-wallet with rules and an agent; the agent pays, asks for approval, is declined by
// the rules; the merchant verifies offline, redeems and refunds; the kill switch stops the agent.
import { Command } from "commander";
import pc from "picocolors";
import { amount, generateAgentKey, isAgentPayError } from "../../index.ts";

export function demoCommand(): Command {
  return new Command("demo").description("a narrated tour over real HTTP on an in-memory server (exit 0 when every step behaved as told)").action(async () => {
    let step = 0;
    let failed = 0;
    const say = (title: string, text: string) => process.stdout.write(`\n${pc.bold(`${++step}. ${title}`)}\n   ${pc.dim(text)}\n`);
    const check = (ok: boolean, what: string) => {
      if (!ok) failed++;
      process.stdout.write(`  ${ok ? pc.green("✓") : pc.red("✗")} ${what}\n`);
    };
    const refused = async (p: Promise<unknown>, code: string): Promise<boolean> => {
      try {
        await p;
        return false;
      } catch (e) {
        return isAgentPayError(e) && e.code === code;
      }
    };
    const usd = (s: string) => amount(s, "USD");
    const [{ AgentPay }, { serve }, { AdminClient, AgentPayClient, MerchantClient }] = await Promise.all([
      import("../../index.ts"), import("../../http/index.ts"), import("../../client/index.ts"),
    ]);
    const pay = await AgentPay.open({ memory: true, risk: "off" });
    const server = await serve(pay, { port: 0 });
    try {
      const op = await pay.apiKeys.create({ kind: "operator", name: "demo" });
      const operator = new AdminClient({ baseUrl: server.url, apiKey: op.secret });
      process.stdout.write(`${pc.bold("agentpay demo")} — a server at ${server.url}\n`);

      say("The operator gives Alice a key", "Alice's key acts on her wallets only; it is shown once and stored hashed.");
      const aliceKey = await operator.apiKeys.create({ kind: "person", ownerId: "alice", name: "alice's laptop" });
      const alice = new AdminClient({ baseUrl: server.url, apiKey: aliceKey.secret });
      const shopReg = await operator.merchants.register({ name: "SkyAir", category: "4511" });
      check(aliceKey.secret.startsWith("apk_p_"), "Alice holds a person key; SkyAir is registered with its own key");

      say("Alice funds a wallet and gives her travel agent a sub-wallet with rules", "Per payment ≤ 150, daily ≤ 300, above 100 she is asked, airlines and hotels only.");
      const wallet = await alice.wallets.create({ currency: "USD", timeZone: "Europe/Paris" });
      await alice.wallets.deposit(wallet.id, usd("500.00"), { idempotencyKey: "demo-deposit" });
      await alice.wallets.deposit(wallet.id, usd("500.00"), { idempotencyKey: "demo-deposit" });
      const travel = await alice.wallets.createSubWallet(wallet.id, {
        name: "travel", budget: usd("250.00"), policy: { perPayment: "150.00", daily: "300.00", approvalAbove: "100.00", categories: { allow: ["4511", "7011"] } },
      });
      const key = await generateAgentKey();
      const { agent } = await alice.agents.register({ name: "trip-planner", publicKeyJwk: key.jwk });
      await alice.grants.create({ subWalletId: travel.id, agentId: agent.id, scopes: ["pay", "refund:request"], mode: "session", expiresIn: "24h" });
      check((await alice.wallets.balance(wallet.id)).postedMinor === 25_000n, "the deposit sent twice counted once: $250.00 left in the wallet, $250.00 in the sub-wallet");

      say("The agent pays $80 for a flight", "It signs the intent with its own key; the server never sees that key.");
      const bot = new AgentPayClient({ baseUrl: server.url, agentId: agent.id, privateKeyJwk: key.privateKeyJwk as Record<string, unknown> });
      const r1 = await bot.requestPayment({ subWalletId: travel.id, merchantId: shopReg.merchant.id, amount: usd("80.00"), reference: "flight-PAR-LIS" });
      check(r1.status === "approved", `approved at once, with a single-use token for SkyAir (${r1.status})`);

      say("SkyAir checks the token offline and redeems $78.50", "The JWKS is fetched once and cached; the redemption is exactly once.");
      const shop = new MerchantClient({ baseUrl: server.url, apiKey: shopReg.apiKey.secret, merchantId: shopReg.merchant.id });
      if (r1.status !== "approved") throw new Error("the demo needs the first payment approved");
      const claims = await shop.verify(r1.token);
      check(claims.amount.minor === 8000n, "the token names SkyAir and caps $80.00");
      const receipt = await shop.redeem({ token: r1.token, amount: usd("78.50") });
      check(receipt.capturedMinor === 7850n && receipt.releasedMinor === 150n, "$78.50 captured, $1.50 released");
      check(await refused(shop.redeem({ token: r1.token, amount: usd("78.50") }), "TOKEN_ALREADY_REDEEMED"), "a second redemption of the token is refused");

      say("The agent wants a $120 hotel: above Alice's threshold", "It waits (long-poll) while Alice decides.");
      const r2 = await bot.requestPayment({ subWalletId: travel.id, merchantId: shopReg.merchant.id, amount: usd("120.00"), reference: "hotel" });
      check(r2.status === "pending_approval", "pending Alice's approval");
      const waiting = bot.waitForApproval(r2.paymentId, { timeoutMs: 20_000 });
      const pending = await alice.approvals.listPending();
      const mine = pending.data.find((a) => a.subject.id === r2.paymentId);
      check(mine !== undefined, "Alice sees what the agent asks, and why (APPROVAL_THRESHOLD)");
      await alice.approvals.approve(mine!.id, { note: "ok for the conference" });
      const r2b = await waiting;
      check(r2b.status === "approved", "the waiting agent gets its token as soon as Alice approves");

      say("A $200 payment breaks the per-payment rule", "Declined with every reason; nothing moves.");
      check(await refused(bot.requestPayment({ subWalletId: travel.id, merchantId: shopReg.merchant.id, amount: usd("200.00") }), "PAYMENT_DECLINED"), "declined: POLICY_PER_PAYMENT_EXCEEDED");

      say("SkyAir refunds $18.50", "The refund gives the budget back.");
      await shop.refund({ paymentId: receipt.paymentId, amount: usd("18.50"), reason: "seat change" });
      check((await alice.payments.get(receipt.paymentId)).refundedMinor === 1850n, "the payment shows $18.50 refunded");

      say("Alice pulls the kill switch", "Freezing the sub-wallet refuses the agent's very next request.");
      await alice.wallets.freeze(travel.id);
      check(await refused(bot.requestPayment({ subWalletId: travel.id, merchantId: shopReg.merchant.id, amount: usd("5.00") }), "SUBWALLET_FROZEN"), "the next payment is refused: SUBWALLET_FROZEN");
      check((await operator.ledger.check()).ok, "the ledger balances (Σ debits = Σ credits)");
    } finally {
      await server.close();
    }
    process.stdout.write(`\n${failed === 0 ? pc.green("every step behaved as told") : pc.red(`${failed} step(s) did not`)}\n`);
    if (failed > 0) process.exitCode = 1;
  });
}
