// A node of a PostgreSQL ledger in a process of its own, for bench:pg and the fault tests (the parent kills,
// stops or starves it). Prints one line per fact:
//   role <leader|standby>           on every role change (and the role at start)
//   ready                           set up (leader) or loaded (standby)
//   try <key> <minor>               before a payment request with idempotency key <key> for <minor> cents
//   ack <key> <paymentId> authorized | ack <key> <paymentId> captured   once that call resolved
//   err <key> <code>                a call that failed
//   pos <position> <balance>        (follow mode) the replayed log position and the sub-wallet's posted balance, every 50 ms
//
//   pg-node.ts load <url> <schema> <setupFile> <runId>   lead (set up the world if new) and pay with 64 callers
//   pg-node.ts follow <url> <schema> <setupFile>         a standby-only node that reports what it replayed
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { AgentPay, amount } from "../../src/index.ts";
import type { NodeSetup as Setup } from "./pg-audit.ts";

const [mode, url, schema, setupFile, runId] = process.argv.slice(2) as [string, string, string, string, string];
const out = (line: string) => process.stdout.write(`${line}\n`);

const pay = await AgentPay.open({
  postgres: { url, schema, leaseMs: 1_000, pollMs: 50, nodeName: `child-${process.pid}`, standbyOnly: mode === "follow" },
  delivery: false, background: false, risk: "off",
});
out(`role ${pay.role}`);
pay.onRoleChange((r) => out(`role ${r}`));


if (mode === "follow") {
  const setup = JSON.parse(readFileSync(setupFile, "utf8")) as Setup;
  out("ready");
  setInterval(() => {
    let balance = "none";
    try {
      balance = String(pay.wallets.balance(setup.subWallet).postedMinor);
    } catch {
      // not replayed yet
    }
    out(`pos ${pay.replication!.position} ${balance}`);
  }, 50);
} else {
  if (pay.role !== "leader") await new Promise<void>((res) => pay.onRoleChange((r) => r === "leader" && res()));
  let setup: Setup;
  if (existsSync(setupFile)) {
    setup = JSON.parse(readFileSync(setupFile, "utf8")) as Setup;
  } else {
    const wallet = await pay.wallets.create({ ownerId: "fault", currency: "USD", timeZone: "UTC" });
    await pay.wallets.deposit(wallet.id, amount("1000000.00", "USD"), { idempotencyKey: "seed" });
    const sw = await pay.wallets.createSubWallet(wallet.id, { name: "load", budget: amount("1000000.00", "USD") });
    const { agent, privateKeyJwk } = await pay.agents.register({ name: "fault-agent" });
    await pay.grants.create({ subWalletId: sw.id, agentId: agent.id, scopes: ["pay"], mode: "persistent" });
    const m = await pay.merchants.register({ name: "Fault Shop", category: "5734" });
    setup = { subWallet: sw.id, merchant: m.merchant.id, agentId: agent.id, jwk: privateKeyJwk! };
    writeFileSync(setupFile, JSON.stringify(setup));
  }
  const client = pay.agentClient({ agentId: setup.agentId, privateKeyJwk: setup.jwk });
  out("ready");
  let n = 0;
  const worker = async () => {
    for (;;) {
      const k = n++;
      const key = `${runId}-${k}`;
      const minor = 100n + BigInt(k % 50);
      out(`try ${key} ${minor}`);
      try {
        const r = await client.requestPayment({ subWalletId: setup.subWallet, merchantId: setup.merchant, amount: amount(minor, "USD"), idempotencyKey: key });
        if (r.status !== "approved") continue;
        out(`ack ${key} ${r.paymentId} authorized`);
        if (k % 4 === 0) continue; // some stay authorized (holds) across the fault
        await pay.payments.redeem({ token: r.token, merchantId: setup.merchant, amount: amount(90n, "USD"), idempotencyKey: `cap-${key}` });
        out(`ack ${key} ${r.paymentId} captured`);
      } catch (e) {
        out(`err ${key} ${(e as { code?: string }).code}`);
        // A standby refuses at once: do not spin.
        await new Promise((res) => setTimeout(res, 20));
      }
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
}
