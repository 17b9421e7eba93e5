// `agentpay serve` as a process: killed with SIGKILL under load and restarted, every 2xx it sent is
// there; SIGTERM drains and exits 0; slow clients are cut off while others are served.
import { expect } from "chai";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AgentPay, buildPayIntent, amount, signIntent } from "../../src/index.ts";
import { serve } from "../../src/http/index.ts";
import { startWorld } from "./helpers.ts";

const main = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const OPERATOR = `op-secret-${"x".repeat(32)}`;

function start(dir: string): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, "serve", "--data", dir, "--port", "0"], { env: { ...process.env, AGENTPAY_OPERATOR_KEY: OPERATOR }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      const m = /agentpay listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1]! });
    });
    child.stderr!.on("data", (b: Buffer) => { err += b.toString(); });
    child.once("exit", (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
}

const exited = (child: ChildProcess) => new Promise<number | null>((r) => {
  if (child.exitCode !== null || child.signalCode !== null) r(child.exitCode);
  else child.once("exit", (code) => r(code));
});

async function call(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const r = await fetch(`${url}${path}`, {
    method, headers: { authorization: `Bearer ${OPERATOR}`, ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: r.status, body: (await r.json()) as any };
}

describe("HTTP: the server process", function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), "agentpay-serve-")); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("SIGKILL under load, restart: every acknowledged deposit and payment is there, the ledger balances", async () => {
    let { child, url } = await start(dir);
    const w = await call(url, "POST", "/v1/wallets", { ownerId: "alice", currency: "USD", timeZone: "UTC" });
    await call(url, "POST", `/v1/wallets/${w.body.id}/deposits`, { amount: { value: "100000.00", currency: "USD" } }, { "idempotency-key": "seed" });
    const sw = await call(url, "POST", `/v1/wallets/${w.body.id}/sub-wallets`, { name: "s", budget: { value: "50000.00", currency: "USD" } });
    const ag = await call(url, "POST", "/v1/agents", { name: "a", ownerId: "alice" });
    await call(url, "POST", "/v1/grants", { subWalletId: sw.body.id, agentId: ag.body.agent.id, scopes: ["pay"], mode: "persistent" });
    const m = await call(url, "POST", "/v1/merchants", { name: "Shop", category: "5411" });
    const jwk = ag.body.privateKeyJwk as Record<string, unknown>;
    const acked = { deposits: [] as string[], payments: [] as string[] };
    let stop = false;
    const load = Array.from({ length: 8 }, async (_, worker) => {
      for (let i = 0; !stop; i++) {
        try {
          const d = await call(url, "POST", `/v1/wallets/${w.body.id}/deposits`, { amount: { value: "1.00", currency: "USD" } }, { "idempotency-key": `d-${worker}-${i}` });
          if (d.status === 201) acked.deposits.push(d.body.id);
          const intent = await signIntent(jwk, { agentId: ag.body.agent.id, body: buildPayIntent({ subWalletId: sw.body.id, merchantId: m.body.merchant.id, amount: amount("1.00", "USD") }) });
          const p = await call(url, "POST", "/v1/payment-intents", { intent });
          if (p.status === 201) acked.payments.push(p.body.paymentId);
        } catch {
          return; // the server is gone
        }
      }
    });
    // Kill mid-load: once some writes were acknowledged (a loaded machine may take a while to get there).
    for (let i = 0; i < 300 && acked.deposits.length + acked.payments.length < 20; i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 300)));
    child.kill("SIGKILL");
    stop = true;
    await Promise.all(load);
    await exited(child);
    expect(acked.deposits.length + acked.payments.length).to.be.greaterThan(10);
    ({ child, url } = await start(dir));
    const statement: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const s = await call(url, "GET", `/v1/wallets/${w.body.id}/statement?limit=500${cursor ? `&cursor=${cursor}` : ""}`);
      statement.push(...s.body.entries.map((e: { transferId: string }) => e.transferId));
      if (!s.body.nextCursor) break;
      cursor = s.body.nextCursor;
    }
    const inStatement = new Set(statement);
    expect(acked.deposits.filter((id) => !inStatement.has(id)), "acknowledged deposits missing").to.deep.equal([]);
    for (const id of acked.payments) expect((await call(url, "GET", `/v1/payments/${id}`)).status, id).to.equal(200);
    expect((await call(url, "GET", "/v1/ledger/check")).body.ok).to.equal(true);
    child.kill("SIGTERM");
    expect(await exited(child)).to.equal(0);
  });

  it("SIGTERM: requests in flight finish, then the process exits 0 and the data is whole", async () => {
    const { child, url } = await start(dir);
    const w = await call(url, "POST", "/v1/wallets", { ownerId: "bob", currency: "USD", timeZone: "UTC" });
    const inFlight = Array.from({ length: 20 }, (_, i) =>
      call(url, "POST", `/v1/wallets/${w.body.id}/deposits`, { amount: { value: "1.00", currency: "USD" } }, { "idempotency-key": `t-${i}` }).catch(() => undefined));
    child.kill("SIGTERM");
    const done = (await Promise.all(inFlight)).filter((r) => r?.status === 201).length;
    expect(await exited(child)).to.equal(0);
    const pay = await AgentPay.open({ dir });
    expect(pay.wallets.balance(w.body.id).postedMinor).to.equal(BigInt(done) * 100n);
    await pay.close();
  });

  it("drain: a long-poll answered while draining reaches its client, says Connection: close, and the engine closes after it", async () => {
    const w = await startWorld({ serve: { drainMs: 15_000 } });
    const r = await w.call("none", "POST", "/v1/payment-intents", { intent: await w.payIntent("150.00") });
    expect(r.body.status).to.equal("pending_approval");
    // Known the moment the route starts waiting, so the drain starts with the long-poll in flight.
    const payments = w.pay.payments;
    const wait = payments.wait.bind(payments);
    let held!: () => void;
    const polling = new Promise<void>((res) => { held = res; });
    payments.wait = ((...args: Parameters<typeof wait>) => { held(); return wait(...args); }) as typeof wait;
    const waiting = w.call("agentA", "GET", `/v1/payments/${r.body.paymentId}?wait=20`);
    await polling;
    const closing = w.server.close();
    await w.pay.approvals.approve(r.body.approvalId); // the engine is still open while requests drain
    const got = await waiting;
    expect(got.status).to.equal(200);
    expect(got.body.status).to.equal("authorized");
    expect(got.body.token).to.be.a("string");
    expect(got.headers.get("connection")).to.equal("close");
    await closing;
    let refused = false;
    await fetch(`${w.url}/healthz`).catch(() => { refused = true; });
    expect(refused, "the server stopped listening").to.equal(true);
  });

  it("a client that sends its headers slowly is cut off; others are served meanwhile", async () => {
    const pay = await AgentPay.open({ memory: true });
    const running = await serve(pay, { port: 0, headersTimeoutMs: 1_000, requestTimeoutMs: 2_000 });
    const { port } = new URL(running.url);
    const slow = connect(Number(port), "127.0.0.1");
    const closed = new Promise<number>((r) => {
      const t0 = Date.now();
      slow.on("close", () => r(Date.now() - t0));
    });
    slow.on("error", () => {});
    slow.write("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    const drip = setInterval(() => slow.write("X-Slow: 1\r\n"), 200);
    const ok = await fetch(`${running.url}/healthz`);
    expect(ok.status).to.equal(200);
    const ms = await closed;
    clearInterval(drip);
    expect(ms).to.be.lessThan(10_000);
    await running.close();
  });
});
