// npm run bench:http — whole payments over loopback HTTP: agents' signed intents → tokens
// (POST /v1/payment-intents), merchants' redemptions (POST /v1/payments/redeem, API key and
// Idempotency-Key), keep-alive connections (undici), durable on the default store, 200 agents (one
// person each) and 50 merchants. A closed loop for BENCH_SECONDS (10 s) with 400 payments in flight
// (as bench:payments, so both figures are taken at the same load); then an open loop OFFERED at
// 1,000 payments/s for 10 s, measuring authorize latency from each request's scheduled send time (so
// queueing behind a slow answer counts). In the same run, before the server starts and again after it
// has stopped, the in-process figure of bench:payments (scripts/bench/payments.ts, same workload, same
// store, same rule set): the baseline is the mean of the two, as this shared machine's speed drifts.
// Any failed payment (an error, a decline, a review) fails the run: the figures count whole payments only.
//
// The server runs in a child process (scripts/bench/http-server.ts), as `agentpay serve` does: the load
// generator must not share the server's event loop, or its own work would be billed to the server.
// Both still share this machine's 2 cores. Setup and warm-up go through AdminClient and AgentPayClient;
// the measured requests are raw undici requests with intents signed beforehand (agents sign on their
// own machines), so this process spends as little CPU as possible per payment.
// The in-process baseline runs the same open loop (BENCH_OPEN_RATE), so the latency the engine itself
// sets at that rate is printed beside the HTTP one. BENCH_SERVER=bare swaps the two measured routes for a
// bare node:http handler (http-server.ts): a ceiling experiment for what any HTTP layer could reach.
// Last line: {"http_payments_per_s","inproc_payments_per_s","ratio","p50_authorize_ms","p99_authorize_ms","p99_authorize_ms_at_1000_per_s","inproc_p99_authorize_ms_at_1000_per_s"}.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Pool } from "undici";
import { amount, generateAgentKey } from "../../src/index.ts";
import { createIntentSigner } from "../../src/agents/index.ts";
import { AdminClient, AgentPayClient } from "../../src/client/index.ts";
import { merchantOf, percentile, priceOf } from "./workload.ts";

const here = dirname(fileURLToPath(import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const AGENTS = Number(process.env.BENCH_AGENTS ?? 200);
const MERCHANTS = 50;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 400); // as bench:payments: the same payments in flight
const OPEN_RATE = Number(process.env.BENCH_OPEN_RATE ?? 1000);
const OPEN_SECONDS = Number(process.env.BENCH_OPEN_SECONDS ?? 10);
const MAX_RATE = Number(process.env.BENCH_MAX_RATE ?? 5000);

const log = (s: string) => console.log(s);

/** CPU seconds a process has used (all its threads), from /proc. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Runs `tasks` with at most `n` at once. */
async function limited<T>(n: number, tasks: Array<() => Promise<T>>): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]!();
    }
  }));
  return out;
}

/** bench:payments in its own process: its last line's payments_per_s. */
async function inProcessFigure(): Promise<{ perSec: number; p99AtOpenRateMs: number }> {
  const child = spawn(process.execPath, [join(here, "payments.ts")], {
    env: { ...process.env, BENCH_SECONDS: String(SECONDS), BENCH_OPEN_RATE: String(OPEN_RATE), BENCH_OPEN_SECONDS: String(OPEN_SECONDS) }, stdio: ["ignore", "pipe", "inherit"],
  });
  let last = "";
  for await (const line of createInterface({ input: child.stdout })) {
    log(`  [in-process] ${line}`);
    last = line;
  }
  const code = await new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once("exit", r)));
  if (code !== 0) throw new Error(`bench:payments failed (${code})`);
  const parsed = JSON.parse(last) as Record<string, number>;
  if (typeof parsed.payments_per_s !== "number" || !(parsed.payments_per_s > 0)) throw new Error(`bench:payments gave no figure: ${last}`);
  const p99 = parsed[`p99_authorize_ms_at_${OPEN_RATE}_per_s`];
  if (typeof p99 !== "number") throw new Error(`bench:payments gave no open-loop figure: ${last}`);
  return { perSec: parsed.payments_per_s, p99AtOpenRateMs: p99 };
}

async function startServer(dir: string, operatorKey: string) {
  const child = spawn(process.execPath, [...(process.env.BENCH_SERVER_NODE_ARGS ? process.env.BENCH_SERVER_NODE_ARGS.split(" ") : []), join(here, "http-server.ts"), dir, operatorKey], { stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    const m = /^listening (\S+)$/.exec(line);
    if (m) {
      lines.on("line", (l) => log(`  [server] ${l}`));
      return {
        url: m[1]!, pid: child.pid!, signal: (sig: NodeJS.Signals) => child.kill(sig),
        stop: () => new Promise<number | null>((r) => {
          child.once("exit", r);
          child.kill("SIGTERM");
        }),
      };
    }
  }
  throw new Error("the bench server did not start");
}

interface Agent { id: string; sw: string; signer: (body: unknown, o?: { nowMs?: number }) => Promise<string>; queue: Array<{ merchant: number; price: string; intent: string }> }

const root = mkdtempSync(join(tmpdir(), "agentpay-bench-http-"));
try {
  if (process.env.BENCH_SERVER === "bare") log("BENCH_SERVER=bare: the two measured routes are a bare node:http handler (a ceiling experiment), not agentpay's HTTP API");
  log(`in-process baseline (bench:payments, ${SECONDS} s), before the server starts:`);
  const inprocBefore = await inProcessFigure();

  const operatorKey = `op_${randomBytes(24).toString("base64url")}`;
  const server = await startServer(join(root, "db"), operatorKey);
  log(`\nserver (child process ${server.pid}) on ${server.url}, durable in ${join(root, "db")}`);
  const operator = new AdminClient({ baseUrl: server.url, apiKey: operatorKey });

  // ── setup over HTTP, as a deployment would do it ──
  const t0 = performance.now();
  const merchants = await limited(16, Array.from({ length: MERCHANTS }, (_, m) => async () => {
    const r = await operator.merchants.register({ name: `Merchant ${m}`, category: "5734", currencies: ["USD"] });
    return { id: r.merchant.id, key: r.apiKey.secret };
  }));
  const merchantIds = merchants.map((m) => m.id);
  const agents: Agent[] = await limited(16, Array.from({ length: AGENTS }, (_, a) => async () => {
    const wallet = await operator.wallets.create({ ownerId: `person-${a}`, currency: "USD", timeZone: "UTC" });
    await operator.wallets.deposit(wallet.id, amount("100000.00", "USD"), { idempotencyKey: "seed" });
    const sw = await operator.wallets.createSubWallet(wallet.id, { name: `agent ${a}`, budget: amount("100000.00", "USD") });
    const key = await generateAgentKey();
    const { agent } = await operator.agents.register({ name: `agent-${a}`, publicKeyJwk: key.jwk });
    await operator.grants.create({ subWalletId: sw.id, agentId: agent.id, scopes: ["pay"], mode: "persistent" });
    return { id: agent.id, sw: sw.id, signer: await createIntentSigner(key.privateKeyJwk, { agentId: agent.id }), queue: [], key } as Agent & { key: typeof key };
  }));
  // Warm-up outside the window, through the clients: each agent pays each of its merchants twice (a
  // never-paid merchant is reviewed, and approved here), so the agents have a history.
  let warm = 0;
  await limited(32, agents.map((a, ai) => async () => {
    const client = new AgentPayClient({ baseUrl: server.url, agentId: a.id, privateKeyJwk: (a as Agent & { key: { privateKeyJwk: Record<string, unknown> } }).key.privateKeyJwk });
    for (let r = 0; r < 2; r++) {
      for (let i = 0; i < 3; i++) {
        const res = await client.requestPayment({ subWalletId: a.sw, merchantId: merchantOf(merchantIds, ai, i), amount: amount(priceOf(ai, i), "USD"), idempotencyKey: `warm-${r}-${i}` });
        if (res.status === "pending_approval") await operator.approvals.approve(res.approvalId);
        warm++;
      }
    }
  }));
  log(`set up over HTTP in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${MERCHANTS} merchants, ${AGENTS} agents (one person each, registered with public keys), ${warm} warm-up payments`);

  // Agents sign their intents on their own machines: pre-signed, outside the measured windows.
  const perAgent = Math.ceil((MAX_RATE * SECONDS) / AGENTS) + Math.ceil((OPEN_RATE * OPEN_SECONDS * 1.1) / AGENTS) + 5;
  let seq = 0;
  for (const [ai, a] of agents.entries()) {
    for (let i = 0; i < perAgent; i++) {
      const m = (ai * 3 + (i % 3)) % MERCHANTS;
      const price = priceOf(ai, i);
      a.queue.push({ merchant: m, price, intent: await a.signer({
        action: "pay", subWalletId: a.sw, merchantId: merchantIds[m], amount: price, currency: "USD", idempotencyKey: `p${seq++}`,
      }, { nowMs: Date.now() }) });
    }
  }

  const pool = new Pool(server.url, { connections: CONCURRENCY, pipelining: 1, keepAliveTimeout: 60_000 });
  // Keep-alive connections are the setup measured: open all of them before the window, or the first
  // 400 payments would also pay for a TCP connect each.
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    const res = await pool.request({ method: "GET", path: "/healthz" });
    await res.body.dump();
    if (res.statusCode !== 200) throw new Error(`GET /healthz answered ${res.statusCode}`);
  }));
  const failures = new Map<string, number>();
  const fail = (code: string) => failures.set(code, (failures.get(code) ?? 0) + 1);
  /** One whole payment: the intent, then the merchant's redemption. Returns the authorize latency (ms from `sentAt`) or undefined. */
  async function payment(a: Agent, sentAt: number, onAuthorized?: (ms: number) => void): Promise<boolean> {
    const item = a.queue.pop();
    if (!item) {
      fail("OUT_OF_INTENTS");
      return false;
    }
    const res = await pool.request({ method: "POST", path: "/v1/payment-intents", headers: { "content-type": "application/json" }, body: `{"intent":"${item.intent}"}` });
    const body = await res.body.json() as { status?: string; token?: string; paymentId?: string; error?: { code: string } };
    if (res.statusCode !== 201 || body.status !== "approved") {
      fail(body.error?.code ?? body.status ?? String(res.statusCode));
      return false;
    }
    onAuthorized?.(performance.now() - sentAt);
    const red = await pool.request({
      method: "POST", path: "/v1/payments/redeem",
      headers: { "content-type": "application/json", authorization: `Bearer ${merchants[item.merchant]!.key}`, "idempotency-key": `r-${body.paymentId}` },
      body: `{"token":"${body.token}","amount":{"value":"${item.price}","currency":"USD"}}`,
    });
    const receipt = await red.body.json() as { error?: { code: string } };
    if (red.statusCode !== 201) {
      fail(receipt.error?.code ?? String(red.statusCode));
      return false;
    }
    return true;
  }

  // ── closed loop: CONCURRENCY payments in flight for SECONDS ──
  const authMs: number[] = [];
  let done = 0;
  let next = 0;
  if (process.env.BENCH_PROFILE || process.env.BENCH_HEAP_PROFILE) server.signal("SIGUSR2");
  const cpu0 = cpuSeconds(server.pid);
  const clientCpu0 = process.cpuUsage();
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < deadline) {
      const a = agents[next++ % AGENTS]!;
      const t = performance.now();
      try {
        if (await payment(a, t, (ms) => authMs.push(ms))) done++;
      } catch (e) {
        fail((e as { code?: string }).code ?? String(e));
      }
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  const serverCpu = cpuSeconds(server.pid) - cpu0;
  const clientCpu = process.cpuUsage(clientCpu0);
  if (process.env.BENCH_PROFILE || process.env.BENCH_HEAP_PROFILE) server.signal("SIGUSR1");
  const httpPerSec = done / elapsed;
  const a = Float64Array.from(authMs).sort();
  log(`closed loop: ${done} whole payments in ${elapsed.toFixed(1)} s = ${httpPerSec.toFixed(0)}/s over ${CONCURRENCY} keep-alive connections; failed ${JSON.stringify(Object.fromEntries(failures))}`);
  log(`  authorize p50 ${percentile(a, 0.5).toFixed(2)} ms, p99 ${percentile(a, 0.99).toFixed(2)} ms; server process ${(serverCpu / elapsed).toFixed(2)} cores busy, ${((serverCpu * 1e6) / Math.max(1, done)).toFixed(0)} µs CPU per payment; load generator (this process) ${(((clientCpu.user + clientCpu.system) / 1e6) / elapsed).toFixed(2)} cores, ${((clientCpu.user + clientCpu.system) / Math.max(1, done)).toFixed(0)} µs CPU per payment`);
  const closedFailures = [...failures.values()].reduce((x, y) => x + y, 0);
  failures.clear();

  // ── open loop: OPEN_RATE payments/s offered, whatever the answers ──
  const openMs: number[] = [];
  let openDone = 0;
  let offered = 0;
  const inFlight = new Set<Promise<void>>();
  // The load generator's own stalls count against the latency (it is measured from the scheduled time):
  // start the window with the closed loop's garbage collected (npm run bench:http gives --expose-gc).
  (globalThis as { gc?: () => void }).gc?.();
  const eld = monitorEventLoopDelay({ resolution: 1 });
  eld.enable();
  const openStart = performance.now();
  const total = OPEN_RATE * OPEN_SECONDS;
  while (offered < total) {
    const now = performance.now();
    const due = Math.min(total, Math.floor(((now - openStart) * OPEN_RATE) / 1000) + 1);
    for (; offered < due; offered++) {
      const scheduled = openStart + (offered * 1000) / OPEN_RATE;
      const p = payment(agents[offered % AGENTS]!, scheduled, (ms) => openMs.push(ms))
        .then((ok) => { if (ok) openDone++; }, (e) => { fail((e as { code?: string }).code ?? String(e)); })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inFlight);
  const openElapsed = (performance.now() - openStart) / 1000;
  eld.disable();
  const o = Float64Array.from(openMs).sort();
  log(`open loop: ${total} payments offered at ${OPEN_RATE}/s, ${openDone} completed in ${openElapsed.toFixed(1)} s; failed ${JSON.stringify(Object.fromEntries(failures))}`);
  log(`  authorize latency from the scheduled send: p50 ${percentile(o, 0.5).toFixed(2)} ms, p99 ${percentile(o, 0.99).toFixed(2)} ms, max ${o[o.length - 1]?.toFixed(2)} ms; the load generator's event loop stalled up to ${(eld.max / 1e6).toFixed(1)} ms (p99 ${(eld.percentile(99) / 1e6).toFixed(1)} ms)`);

  const report = await operator.ledger.check();
  await pool.close();
  const code = await server.stop();
  log(`ledger invariants ${report.ok ? "hold" : "BROKEN"}; server exited ${code} after draining`);
  log(`\nin-process baseline again, after the server has stopped:`);
  const inprocAfter = await inProcessFigure();
  const inproc = { perSec: (inprocBefore.perSec + inprocAfter.perSec) / 2, p99AtOpenRateMs: (inprocBefore.p99AtOpenRateMs + inprocAfter.p99AtOpenRateMs) / 2 };
  log(`in-process (bench:payments): ${inprocBefore.perSec}/s before, ${inprocAfter.perSec}/s after, mean ${inproc.perSec.toFixed(0)}/s; over HTTP: ${httpPerSec.toFixed(0)}/s`);
  log(`p99 authorize at ${OPEN_RATE}/s offered: in-process ${inprocBefore.p99AtOpenRateMs} ms before, ${inprocAfter.p99AtOpenRateMs} ms after; over HTTP ${percentile(o, 0.99).toFixed(2)} ms`);
  const openFailures = [...failures.values()].reduce((x, y) => x + y, 0);
  if (closedFailures + openFailures > 0 || openDone !== total) log(`FAILED: ${closedFailures} payments failed in the closed loop, ${openFailures} in the open loop (${total - openDone} of ${total} offered not completed)`);
  console.log(JSON.stringify({
    http_payments_per_s: Math.round(httpPerSec),
    inproc_payments_per_s: Math.round(inproc.perSec),
    ratio: Number((httpPerSec / inproc.perSec).toFixed(3)),
    p50_authorize_ms: Number(percentile(a, 0.5).toFixed(2)),
    p99_authorize_ms: Number(percentile(a, 0.99).toFixed(2)),
    p99_authorize_ms_at_1000_per_s: Number(percentile(o, 0.99).toFixed(2)),
    // The same open loop in-process (mean of the two baseline runs): the floor the engine itself sets.
    inproc_p99_authorize_ms_at_1000_per_s: Number(inproc.p99AtOpenRateMs.toFixed(2)),
    // A ceiling experiment's figures must never pass for the server's.
    ...(process.env.BENCH_SERVER === "bare" ? { server: "bare node:http ceiling, not agentpay's HTTP API" } : {}),
  }));
  if (!report.ok || code !== 0 || closedFailures + openFailures > 0 || openDone !== total) process.exitCode = 1;
} finally {
  rmSync(root, { recursive: true, force: true });
}
