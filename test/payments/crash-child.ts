// Child process for the payments crash test: concurrent authorize + redeem against a store (a
// directory or "pg:<schema>", test/helpers/targets.ts), set up once as `setupFile` says; prints "ack <paymentId> authorized|captured" once each promise has resolved.
// The parent kills it with SIGKILL at a random moment.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { AgentPay, amount } from "../../src/index.ts";
import { storeOf } from "../helpers/targets.ts";

const [target, runId, setupFile] = process.argv.slice(2) as [string, string, string];
const pay = await AgentPay.open({ ...storeOf(target), delivery: false, background: false, risk: "off" });
let setup: { subWallet: string; merchant: string; agentId: string; jwk: Record<string, unknown> };
if (existsSync(setupFile)) {
  setup = JSON.parse(readFileSync(setupFile, "utf8"));
} else {
  const wallet = await pay.wallets.create({ ownerId: "crash", currency: "USD", timeZone: "UTC" });
  await pay.wallets.deposit(wallet.id, amount("1000000.00", "USD"), { idempotencyKey: "seed" });
  const sw = await pay.wallets.createSubWallet(wallet.id, { name: "load", budget: amount("1000000.00", "USD") });
  const { agent, privateKeyJwk } = await pay.agents.register({ name: "crash-agent" });
  await pay.grants.create({ subWalletId: sw.id, agentId: agent.id, scopes: ["pay"], mode: "persistent" });
  const m = await pay.merchants.register({ name: "Crash Shop", category: "5734" });
  setup = { subWallet: sw.id, merchant: m.merchant.id, agentId: agent.id, jwk: privateKeyJwk! };
  writeFileSync(setupFile, JSON.stringify(setup));
}
const client = pay.agentClient({ agentId: setup.agentId, privateKeyJwk: setup.jwk });
process.stdout.write("ready\n");
let n = 0;
const worker = async () => {
  for (;;) {
    const k = n++;
    try {
      const r = await client.requestPayment({ subWalletId: setup.subWallet, merchantId: setup.merchant, amount: amount(100n + BigInt(k % 50), "USD"), idempotencyKey: `${runId}-${k}` });
      if (r.status !== "approved") continue;
      process.stdout.write(`ack ${r.paymentId} authorized\n`);
      if (k % 4 === 0) continue; // some stay authorized (holds) across the crash
      await pay.payments.redeem({ token: r.token, merchantId: setup.merchant, amount: amount(90n, "USD"), idempotencyKey: `cap-${r.paymentId}` });
      process.stdout.write(`ack ${r.paymentId} captured\n`);
    } catch (e) {
      process.stdout.write(`err ${(e as { code?: string }).code}\n`);
    }
  }
};
await Promise.all(Array.from({ length: 64 }, worker));
