// npm run bench:payments — the whole durable flow per payment: signed intent verified →
// grant + policy → risk hook → hold + token (one command) → the merchant's redemption
// verified → capture (one command), many agents and merchants at once, on LevelDB.
// In the same run: the crypto floor, i.e. payments/s that node:crypto alone reaches
// doing one Ed25519 sign and two verifies per payment on one core.
// Last line: one JSON object with the figures the Token Pay issue asks for.
import { generateKeyPairSync, sign, verify } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentPay, amount } from "../../src/index.ts";
import { createIntentSigner } from "../../src/agents/index.ts";

const DURATION_MS = Number(process.env.BENCH_SECONDS ?? 10) * 1000;
const AGENTS = Number(process.env.BENCH_AGENTS ?? 200);
const MERCHANTS = 50;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 400);
const RISK = process.env.BENCH_RISK ?? "engine"; // "engine" (the built-in risk engine) or "off"

function cryptoFloor(seconds: number): number {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const msg = Buffer.alloc(300, 7);
  const sig = sign(null, msg, privateKey);
  let n = 0;
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 50; i++) {
      sign(null, msg, privateKey); // the issuer signs the token
      verify(null, msg, publicKey, sig); // the agent's intent is verified
      verify(null, msg, publicKey, sig); // the merchant's token is verified at redemption
    }
    n += 50;
  }
  return n / ((performance.now() - start) / 1000);
}

const pct = (a: Float64Array, p: number) => a[Math.min(a.length - 1, Math.floor(a.length * p))]!;

const root = mkdtempSync(join(tmpdir(), "agentpay-bench-pay-"));
try {
  const floor = cryptoFloor(3);
  console.log(`crypto floor (node:crypto, 1 sign + 2 verifies per payment, one core): ${floor.toFixed(0)} payments/s`);

  const pay = await AgentPay.open({
    dir: join(root, "db"), delivery: false, background: false,
    ...(RISK === "off" ? { risk: "off" as const } : {}),
  });
  const wallet = await pay.wallets.create({ owner: "bench", currency: "USD" });
  await pay.wallets.deposit(wallet.id, amount("100000000.00", "USD"), { idempotencyKey: "seed" });
  const merchants: string[] = [];
  for (let m = 0; m < MERCHANTS; m++) {
    merchants.push((await pay.merchants.register({ name: `Merchant ${m}`, category: "5734", currencies: ["USD"] })).merchant.id);
  }
  interface AgentCtx { id: string; sw: string; signer: (body: unknown, o?: { nowMs?: number }) => Promise<string>; queue: Array<[string, string]> }
  const agents: AgentCtx[] = [];
  for (let a = 0; a < AGENTS; a++) {
    const sw = await pay.wallets.createSubWallet(wallet.id, { name: `agent ${a}`, budget: amount("100000.00", "USD") });
    const { agent, privateKeyJwk } = await pay.agents.register({ name: `agent-${a}` });
    await pay.grants.create({ subWalletId: sw.id, agentId: agent.id, scopes: ["pay"], mode: "persistent" });
    agents.push({ id: agent.id, sw: sw.id, signer: await createIntentSigner(privateKeyJwk!, { agentId: agent.id }), queue: [] });
  }
  // Agents sign their intents on their own machines: pre-sign, outside the measured window.
  const perAgent = Math.ceil((Number(process.env.BENCH_MAX_RATE ?? 5000) * DURATION_MS) / 1000 / AGENTS) + 5;
  let seq = 0;
  for (const a of agents) {
    for (let i = 0; i < perAgent; i++) {
      const m = merchants[(seq * 7) % MERCHANTS]!;
      const cents = 100 + ((seq * 37) % 4900);
      a.queue.push([m, await a.signer({
        action: "pay", subWallet: a.sw, merchant: m, amount: (cents / 100).toFixed(2), currency: "USD", idempotencyKey: `p${seq++}`,
      }, { nowMs: Date.now() })]);
    }
  }
  console.log(`${AGENTS} agents, ${MERCHANTS} merchants, ${seq} intents pre-signed, ${CONCURRENCY} in flight, risk: ${RISK}`);

  const authMs: number[] = [];
  const redeemMs: number[] = [];
  let done = 0;
  let declined = 0;
  let failed = 0;
  const failures = new Map<string, number>();
  const deadline = performance.now() + DURATION_MS;
  const started = performance.now();
  const writesBefore = pay.engine.stats.writes;
  let next = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      const a = agents[next++ % AGENTS]!;
      const item = a.queue.pop();
      if (!item) break;
      const [merchant, jws] = item;
      const t0 = performance.now();
      try {
        const r = await pay.payments.authorize(jws);
        const t1 = performance.now();
        authMs.push(t1 - t0);
        if (r.status !== "approved") { declined++; continue; }
        // The merchant redeems for what it charges (the token is verified inside redeem).
        const p = pay.payments.get(r.paymentId);
        await pay.payments.redeem({ token: r.token, merchant, amount: amount(p.amountMinor, "USD"), idempotencyKey: `r-${r.paymentId}` });
        redeemMs.push(performance.now() - t1);
        done++;
      } catch (e) {
        const code = (e as { code?: string }).code ?? "unknown";
        if (code === "PAYMENT_DECLINED") declined++;
        else failed++;
        failures.set(code, (failures.get(code) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = (performance.now() - started) / 1000;
  const writesPerPayment = (pay.engine.stats.writes - writesBefore) / Math.max(1, done);
  const report = pay.ledger.check();
  await pay.close();
  const a = Float64Array.from(authMs).sort();
  const r = Float64Array.from(redeemMs).sort();
  const perSec = done / elapsed;
  console.log(`payments completed: ${done} in ${elapsed.toFixed(1)} s = ${perSec.toFixed(0)}/s; declined or reviewed ${declined}, failed ${failed} ${JSON.stringify(Object.fromEntries(failures))}`);
  console.log(`authorize p50 ${pct(a, 0.5).toFixed(2)} ms, p99 ${pct(a, 0.99).toFixed(2)} ms; redeem p99 ${pct(r, 0.99).toFixed(2)} ms; ledger invariants ${report.ok ? "hold" : "BROKEN"}; ${writesPerPayment.toFixed(1)} records written per payment`);
  console.log(JSON.stringify({
    payments_per_s: Math.round(perSec),
    p50_authorize_ms: Number(pct(a, 0.5).toFixed(2)),
    p99_authorize_ms: Number(pct(a, 0.99).toFixed(2)),
    p99_redeem_ms: Number(pct(r, 0.99).toFixed(2)),
    crypto_floor_payments_per_s: Math.round(floor),
    ratio: Number((perSec / floor).toFixed(3)),
  }));
  if (!report.ok) process.exitCode = 1;
} finally {
  rmSync(root, { recursive: true, force: true });
}
