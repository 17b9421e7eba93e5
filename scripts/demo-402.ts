// npm run demo:402 — pay per call over HTTP 402, told and checked step by step (it exits non-zero the
// moment something does not behave as told). Three processes on loopback:
//   - this one: the agentpay server (`serve`, in memory, webhooks on) and Alice, who set it up and who
//     approves over the HTTP API with her key;
//   - a merchant's paid API (scripts/demo-402/merchant.ts): Hono with requirePayment, settling through
//     agentpay with its merchant API key, receiving agentpay's signed callbacks;
//   - Alice's research agent (scripts/demo-402/agent.ts): fetchWithPayment over agentpay's HTTP API,
//     its key never leaving its process.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { AgentPay, amount, defaultRuleSet, formatAmount } from "../src/index.ts";
import { serve } from "../src/http/index.ts";

const quiet = process.argv.includes("--quiet");
const out = (s = "") => { if (!quiet) console.log(s); };
const usd = (s: string) => amount(s, "USD");
const $ = (v: string | bigint) => `$${typeof v === "bigint" ? formatAmount({ minor: v, currency: "USD" }) : v}`;
function check(cond: boolean, what: string): void {
  if (!cond) {
    console.error(`  ✗ ${what}`);
    throw new Error(`demo step failed: ${what}`);
  }
  out(`  ✓ ${what}`);
}
let act = 0;
const step = (title: string, why: string) => { out(`\n${++act}. ${title}`); out(`   ${why}`); };

type Line = Record<string, unknown> & { event: string };
/** A child process speaking JSON lines; `next(pred)` waits (bounded) for the first matching line. */
function child(script: string, env: Record<string, string> = {}) {
  const proc: ChildProcess = spawn(process.execPath, [fileURLToPath(new URL(script, import.meta.url))], {
    env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "inherit"],
  });
  const queue: Line[] = [];
  const waiters: Array<() => void> = [];
  createInterface({ input: proc.stdout! }).on("line", (l) => {
    try {
      queue.push(JSON.parse(l) as Line);
    } catch {
      queue.push({ event: "text", text: l });
    }
    for (const w of waiters.splice(0)) w();
  });
  let exited = false;
  proc.on("exit", () => { exited = true; for (const w of waiters.splice(0)) w(); });
  const next = async (pred: (l: Line) => boolean, what: string, timeoutMs = 60_000): Promise<Line> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = queue.findIndex(pred);
      if (i >= 0) return queue.splice(i, 1)[0]!;
      if (exited) throw new Error(`${script} exited before: ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for: ${what}`);
      await new Promise<void>((r) => { const t = setTimeout(r, left); waiters.push(() => { clearTimeout(t); r(); }); });
    }
  };
  return { proc, next, all: queue, kill: () => { if (!exited) proc.kill("SIGTERM"); } };
}

export async function runDemo(): Promise<void> {
  // The built-in risk engine scores every payment. Pay-per-call traffic is, by design, what four default
  // rules look for in a runaway agent (the same price to one merchant again and again, several a minute):
  // they would ask Alice about nearly every call (docs/X402.md). This deployment serves x402, so it
  // switches those four off; every other rule stays.
  const PER_CALL = new Set(["duplicate-payment", "merchant-surge", "velocity-1m", "same-merchant-burst"]);
  const rules = { ...defaultRuleSet, version: `${defaultRuleSet.version}-x402`, rules: defaultRuleSet.rules.map((r) => (PER_CALL.has(r.id) ? { ...r, enabled: false } : r)) };
  // The merchant's callbacks go to its process on this machine (loopback): allowed here, refused by default.
  const pay = await AgentPay.open({ memory: true, risk: { rules }, delivery: { baseDelayMs: 50, maxDelayMs: 500, allowPrivateNetworks: true } });
  const server = await serve(pay, { port: 0, rateLimit: false });
  const merchant = child("./demo-402/merchant.ts");
  let agent: ReturnType<typeof child> | undefined;
  try {
    step("Alice gives her research agent a budget", "A sub-wallet with $10.00, at most $1.00 a payment and $2.00 a day; above $0.50 the agent must ask her.");
    const wallet = await pay.wallets.create({ ownerId: "alice", currency: "USD", timeZone: "UTC" });
    await pay.wallets.deposit(wallet.id, usd("50.00"), { idempotencyKey: "demo-deposit" });
    const sw = await pay.wallets.createSubWallet(wallet.id, { name: "research", budget: usd("10.00"), policy: { perPayment: "1.00", daily: "2.00", approvalAbove: "0.50" } });
    const { agent: researcher, privateKeyJwk } = await pay.agents.register({ name: "research-agent", ownerId: "alice" });
    const grant = await pay.grants.create({ subWalletId: sw.id, agentId: researcher.id, scopes: ["pay", "balance:read"], mode: "persistent" });
    const aliceKey = (await pay.apiKeys.create({ kind: "person", ownerId: "alice" })).secret;
    check(pay.wallets.balance(sw.id).availableMinor === 1000n, `sub-wallet ${sw.id} holds $10.00; grant ${grant.id} lets ${researcher.id} pay from it`);

    step("A weather-and-markets API starts charging per call", "Its own process; agentpay's middleware answers 402 in x402 v2 and settles through agentpay with the API's merchant key.");
    const ready = await merchant.next((l) => l.event === "ready", "the merchant's URL");
    const merchantUrl = ready.url as string;
    const registered = await pay.merchants.register({ name: "Weather & Markets API", category: "5734", callbackUrl: `${merchantUrl}/callbacks`, currencies: ["USD"] });
    const merchantKey = (await pay.apiKeys.create({ kind: "merchant", merchantId: registered.merchant.id })).secret;
    merchant.proc.stdin!.write(`${JSON.stringify({ agentpayUrl: server.url, merchantId: registered.merchant.id, apiKey: merchantKey, callbackSecret: registered.callbackSecret })}\n`);
    await merchant.next((l) => l.event === "configured", "the merchant configured");
    const probe = await fetch(`${merchantUrl}/forecast?city=paris`);
    await probe.arrayBuffer();
    check(probe.status === 402 && probe.headers.get("payment-required") !== null, `GET ${merchantUrl}/forecast without paying: 402 with PAYMENT-REQUIRED (agentpay-token on agentpay:agentpay, 25 USD minor units)`);

    step("The agent works through its list", "Each call: 402 → agentpay decides within the grant (policy, risk, approval) → token → the same request with PAYMENT-SIGNATURE → 200 and a receipt.");
    const calls = ["/forecast?city=paris", "/forecast?city=oslo", "/forecast?city=rome", "/report?topic=markets", "/dataset", "/forecast?city=lima", "/forecast?city=kyiv", "/forecast?city=bern"];
    agent = child("./demo-402/agent.ts", { AGENT_CONFIG: JSON.stringify({ agentpayUrl: server.url, merchantUrl, agentId: researcher.id, privateKeyJwk, subWalletId: sw.id, calls }) });
    let spent = 0n;
    const paidIds: string[] = [];
    const approvalsFor = new Map<string, string[]>();
    for (const path of calls) {
      await agent.next((l) => l.event === "call" && l.path === path, `the agent's call to ${path}`);
      out(`\n   → GET ${path}`);
      let result: Line | undefined;
      while (!result) {
        const l = await agent.next((x) => ["pending_approval", "result", "refused"].includes(x.event) && (x.path === path || String(x.url ?? "").endsWith(path)), `the outcome of ${path}`);
        if (l.event === "pending_approval") {
          const a = pay.approvals.get(l.approvalId as string);
          const why = a.reasons.map((r) => r.code);
          approvalsFor.set(path, why);
          out(`     agentpay asks Alice first (${why.join(", ")}): she approves from her phone`);
          const r = await fetch(`${server.url}/v1/approvals/${a.id}/approve`, { method: "POST", headers: { authorization: `Bearer ${aliceKey}` } });
          check(r.status === 200, `Alice approves ${a.id} over the HTTP API; the agent, long-polling, gets its token`);
        } else {
          result = l;
        }
      }
      const budget = await agent.next((l) => l.event === "budget" && l.path === path, `the budget after ${path}`);
      const daily = budget.daily as { used: { value: string }; remaining: { value: string } };
      if (result.event === "result") {
        const amountMinor = BigInt(result.amountMinor as string);
        spent += amountMinor;
        paidIds.push(result.paymentId as string);
        const settle = result.settle as { success: boolean; transaction: string };
        check(result.status === 200 && settle.success && settle.transaction === result.paymentId,
          `200 ${JSON.stringify(result.body)} · paid ${$(amountMinor)} (payment ${result.paymentId}) · today ${$(daily.used.value)} spent, ${$(daily.remaining.value)} left`);
        check(pay.payments.get(result.paymentId as string).status === "captured", "captured exactly once, bound to this request's reference");
      } else {
        const code = result.code as string;
        if (path === "/dataset") {
          check(code === "X402_NO_PAYABLE_OFFER", `not paid: it costs $5.00, above the agent's maxAmount of $1.00 (nothing asked of agentpay) · ${$(daily.remaining.value)} left today`);
        } else {
          const reasons = ((result.details as { reasons?: Array<{ code: string }> }).reasons ?? []).map((r) => r.code);
          check(code === "PAYMENT_DECLINED" && reasons.includes("POLICY_DAILY_BUDGET_EXCEEDED"),
            `declined by Alice's daily limit (${reasons.join(", ")}): the agent is stopped for today; nothing moved, the API never ran`);
        }
      }
    }
    await agent.next((l) => l.event === "done", "the agent finished");
    check(spent === 200n, `the agent spent exactly its daily $2.00: ${paidIds.length} paid calls`);
    check((approvalsFor.get("/report?topic=markets") ?? []).includes("APPROVAL_THRESHOLD"), "the $0.75 report needed Alice's approval (above her $0.50 threshold)");
    check([...approvalsFor.keys()].every((p) => p === "/report?topic=markets" || (approvalsFor.get(p) ?? []).includes("UNKNOWN_MERCHANT")),
      `no other call needed her, but the first ever paid to a merchant no agent had paid before (the risk engine's UNKNOWN_MERCHANT): ${[...approvalsFor.keys()].join(", ")}`);
    check(pay.wallets.balance(sw.id).availableMinor === 800n, "the sub-wallet holds $8.00; the rest is the merchant's");
    const gateLog = merchant.all.filter((l) => l.event === "gate" && l.kind === "settled").length;
    check(gateLog === paidIds.length, `the merchant's middleware settled ${gateLog} payments, one per paid call, each before its handler ran`);

    step("The merchant hears of each payment", "agentpay's signed callbacks (HMAC over timestamp and body), marked as agent-initiated, naming the agent and its grant.");
    for (const id of paidIds) {
      const cb = await merchant.next((l) => l.event === "callback" && l.type === "payment.captured" && l.paymentId === id, `the callback for ${id}`, 30_000);
      check(cb.initiator === "agent" && cb.agentId === researcher.id && cb.grantId === grant.id,
        `payment.captured ${id}: AgentPay-Initiator: agent, agent ${researcher.id}, grant ${grant.id}, reference "${cb.reference}"`);
    }
    check(!merchant.all.some((l) => l.event === "callback_rejected"), "every callback's signature verified with the merchant's secret");
    check(pay.ledger.check().ok, "the ledger balances: every cent is accounted for");
    out("\nDone: 402 → pay → 200, the budget shrinking call by call, Alice asked when it mattered, the daily limit stopping the agent.");
  } finally {
    agent?.kill();
    merchant.kill();
    await server.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runDemo().then(() => process.exit(0), (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
