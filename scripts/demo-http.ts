// npm run demo:http — agentpay as a service, narrated: three processes talking over real sockets.
//   the server   `agentpay serve` on a data directory (its own process);
//   the agent    `node scripts/demo-http.ts agent`: holds its own key (only its public key ever leaves),
//                asks to pay through AgentPayClient, hands tokens to the shop;
//   the merchant `node scripts/demo-http.ts merchant`: a small shop (its own HTTP server) that checks
//                tokens offline from the cached JWKS and redeems them through MerchantClient.
// This process plays Alice, the person (AdminClient with her API key), and the narrator: it checks
// every step it tells against the server and exits non-zero the moment one does not behave as told.
import { spawn } from "node:child_process";
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { amount, formatAmount, generateAgentKey, isAgentPayError } from "../src/index.ts";
import type { Amount } from "../src/index.ts";
import { AdminClient, AgentPayClient, MerchantClient } from "../src/client/index.ts";
import { startServerProcess } from "./server-process.ts";

const SELF = fileURLToPath(import.meta.url);
const usd = (s: string) => amount(s, "USD");
const $ = (a: Amount | bigint) => `$${formatAmount(typeof a === "bigint" ? { minor: a, currency: "USD" } : a)}`;
/** What the shop sells, at its own prices (the agent does not set them). */
const CATALOG: Record<string, string> = { "flight PAR-LIS": "180.00", "seat upgrade": "42.00", "business class": "260.00", "lounge pass": "35.00" };

// ─── the merchant process: a shop ─────────────────────────────────────────────────────────────────
async function merchantProcess(): Promise<void> {
  const merchant = new MerchantClient({ baseUrl: process.env.AGENTPAY_URL!, apiKey: process.env.MERCHANT_KEY!, merchantId: process.env.MERCHANT_ID! });
  const say = (s: string) => console.log(`say ${s}`);
  const shop = createServer((req, res) => {
    const reply = (status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (req.method === "GET" && req.url === "/catalog") return reply(200, CATALOG);
    if (req.method !== "POST" || req.url !== "/orders") return reply(404, { error: "no such page" });
    let raw = "";
    req.setEncoding("utf8").on("data", (d: string) => (raw += d)).on("end", async () => {
      try {
        const { item, token } = JSON.parse(raw) as { item: string; token: string };
        const price = CATALOG[item];
        if (!price) return reply(404, { error: "not sold here" });
        // Offline: genuine, for this shop, in time, and its cap covers the price. No call to agentpay.
        const v = await merchant.verify(token);
        if (v.amount.minor < usd(price).minor) return reply(402, { error: "the token's cap is below the price" });
        say(`checked the token offline (issuer key ${v.kid.slice(0, 8)}…, cap ${$(v.amount)}, agent ${v.agentId}); redeeming ${$(usd(price))}`);
        const receipt = await merchant.redeem({ token, amount: usd(price) });
        reply(201, { item, paymentId: receipt.paymentId, captured: formatAmount({ minor: receipt.capturedMinor, currency: receipt.currency }) });
      } catch (e) {
        say(`refused an order: ${isAgentPayError(e) ? e.code : String(e)}`);
        reply(isAgentPayError(e) ? 409 : 400, { error: isAgentPayError(e) ? e.code : "bad order" });
      }
    });
  });
  await new Promise<void>((r) => shop.listen(0, "127.0.0.1", r));
  console.log(`shop ${JSON.stringify({ url: `http://127.0.0.1:${(shop.address() as { port: number }).port}` })}`);
  process.once("SIGTERM", () => shop.close(() => process.exit(0)));
}

// ─── the agent process ────────────────────────────────────────────────────────────────────────────
async function agentProcess(): Promise<void> {
  const emit = (event: string, data: Record<string, unknown> = {}) => console.log(`event ${JSON.stringify({ event, ...data })}`);
  const say = (s: string) => console.log(`say ${s}`);
  // The key pair is made here and the private half never leaves this process.
  const key = await generateAgentKey();
  emit("public_key", { publicKeyJwk: key.jwk });
  interface Config { agentId: string; subWalletId: string; merchantId: string; shopUrl: string }
  let client: AgentPayClient | undefined;
  let cfg: Config | undefined;
  for await (const line of createInterface({ input: process.stdin })) {
    const cmd = JSON.parse(line) as { cmd: "config" | "buy" | "exit"; item?: string } & Partial<Config>;
    if (cmd.cmd === "exit") break;
    if (cmd.cmd === "config") {
      cfg = cmd as Config;
      client = new AgentPayClient({ baseUrl: process.env.AGENTPAY_URL!, agentId: cfg.agentId, privateKeyJwk: key.privateKeyJwk as unknown as Record<string, unknown> });
      emit("ready");
      continue;
    }
    const item = cmd.item!;
    try {
      const catalog = await (await fetch(`${cfg!.shopUrl}/catalog`)).json() as Record<string, string>;
      const price = usd(catalog[item]!);
      say(`asks to pay ${$(price)} for "${item}" (a signed intent; no bearer secret)`);
      let r = await client!.requestPayment({ subWalletId: cfg!.subWalletId, merchantId: cfg!.merchantId, amount: price, reference: item.replace(/\W+/g, "-") });
      if (r.status === "pending_approval") {
        emit("waiting", { paymentId: r.paymentId, approvalId: r.approvalId, reasons: [...r.decision.policy.reasons, ...r.decision.risk.reasons].map((x) => x.code) });
        say(`long-polls GET /v1/payments/${r.paymentId}?wait=30 while Alice decides`);
        r = await client!.waitForApproval(r.paymentId, { timeoutMs: 120_000 });
      }
      if (r.status !== "approved") {
        emit("not_approved", { status: r.status, paymentId: r.paymentId });
        continue;
      }
      say(`got a single-use token for ${$(price)}, valid until ${new Date(r.expiresAtMs).toISOString()}; hands it to the shop`);
      const res = await fetch(`${cfg!.shopUrl}/orders`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ item, token: r.token }) });
      emit("bought", { status: res.status, paymentId: r.paymentId, ...(await res.json() as object) });
    } catch (e) {
      if (!isAgentPayError(e)) throw e;
      emit("refused", { code: e.code, reasons: (e.details.reasons as Array<{ code: string }> | undefined)?.map((x) => x.code) ?? [], requestId: (e as { requestId?: string }).requestId });
    }
  }
  process.exit(0);
}

// ─── the narrator, who is also Alice ──────────────────────────────────────────────────────────────
interface Child { proc: ChildProcessWithoutNullStreams; next(kind: string): Promise<Record<string, unknown>> }

function child(role: "agent" | "merchant", env: Record<string, string>): Child {
  const proc = spawn(process.execPath, [SELF, role], { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
  const queue: Array<[string, Record<string, unknown>]> = [];
  const waiters: Array<() => void> = [];
  let stderr = "";
  proc.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  createInterface({ input: proc.stdout }).on("line", (line) => {
    const sp = line.indexOf(" ");
    const [kind, rest] = [line.slice(0, sp), line.slice(sp + 1)];
    if (kind === "say") return out(`   [${role}] ${rest}`);
    queue.push([kind, JSON.parse(rest) as Record<string, unknown>]);
    waiters.splice(0).forEach((w) => w());
  });
  const exited = new Promise<never>((_, reject) => proc.once("exit", (code) => reject(new Error(`the ${role} process exited (${code}): ${stderr}`))));
  exited.catch(() => {});
  return {
    proc,
    async next(kind) {
      for (;;) {
        const at = queue.findIndex(([k]) => k === kind);
        if (at >= 0) return queue.splice(at, 1)[0]![1];
        await Promise.race([new Promise<void>((r) => waiters.push(r)), exited]);
      }
    },
  };
}

let failures = 0;
const out = (s = "") => console.log(s);
function check(cond: boolean, what: string): void {
  if (!cond) {
    failures++;
    throw new Error(`demo step failed: ${what}`);
  }
  out(`  ✓ ${what}`);
}
function act(n: number, title: string, why: string): void {
  out(`\n${n}. ${title}`);
  out(`   ${why}`);
}

async function narrator(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "agentpay-demo-http-"));
  const operatorKey = `op_${randomBytes(24).toString("base64url")}`;
  const server = await startServerProcess({ operatorKey, args: ["--data", join(dir, "data")] });
  const children: Child[] = [];
  try {
    act(1, "The server", "`agentpay serve` runs in its own process on a data directory; everything below is HTTP over real sockets.");
    check((await (await fetch(`${server.url}/readyz`)).json() as { status: string }).status === "ok", `listening on ${server.url}, ready`);
    const operator = new AdminClient({ baseUrl: server.url, apiKey: operatorKey });
    const aliceKey = await operator.apiKeys.create({ kind: "person", ownerId: "alice", name: "alice's phone" });
    const alice = new AdminClient({ baseUrl: server.url, apiKey: aliceKey.secret });
    check(aliceKey.apiKey.kind === "person" && !("hash" in aliceKey.apiKey), `the operator issued Alice an API key (${aliceKey.apiKey.prefix}…), shown once, stored hashed`);

    act(2, "Alice funds her AI wallet and gives her travel agent a sub-wallet with rules",
      "Each payment at most $250; above $100 she is asked; airlines only. A retried deposit is harmless: it carries an idempotency key.");
    const wallet = await alice.wallets.create({ currency: "USD", timeZone: "Europe/Lisbon" });
    await alice.wallets.deposit(wallet.id, usd("500.00"), { idempotencyKey: "bank-transfer-1" });
    await alice.wallets.deposit(wallet.id, usd("500.00"), { idempotencyKey: "bank-transfer-1" });
    check((await alice.wallets.balance(wallet.id)).postedMinor === 50_000n, "her wallet holds $500.00 after the deposit was sent twice");
    const travel = await alice.wallets.createSubWallet(wallet.id, {
      name: "travel", budget: usd("400.00"), policy: { perPayment: "250.00", approvalAbove: "100.00", categories: { allow: ["4511"] } },
    });
    const skyair = await operator.merchants.register({ name: "SkyAir", category: "4511" });
    check(travel.policy.approvalAboveMinor === 10_000n, `sub-wallet "travel" holds ${$((await alice.wallets.balance(travel.id)).postedMinor)}; SkyAir is registered (its API key shown once)`);

    act(3, "The merchant's shop and the agent start, each in its own process",
      "The agent makes its key pair itself and shows only the public half; Alice registers it and grants it the sub-wallet.");
    const merchant = child("merchant", { AGENTPAY_URL: server.url, MERCHANT_ID: skyair.merchant.id, MERCHANT_KEY: skyair.apiKey.secret });
    children.push(merchant);
    const shopUrl = (await merchant.next("shop")).url as string;
    const agent = child("agent", { AGENTPAY_URL: server.url });
    children.push(agent);
    const { publicKeyJwk } = await agent.next("event").then((e) => e) as { publicKeyJwk: Record<string, string> };
    check(publicKeyJwk.kty === "OKP" && !("d" in publicKeyJwk), "the agent's public key arrived (no private part)");
    const registered = await alice.agents.register({ name: "trip-planner", publicKeyJwk });
    const grant = await alice.grants.create({ subWalletId: travel.id, agentId: registered.agent.id, scopes: ["pay"], mode: "session", expiresIn: "24h" });
    agent.proc.stdin.write(`${JSON.stringify({ cmd: "config", agentId: registered.agent.id, subWalletId: travel.id, merchantId: skyair.merchant.id, shopUrl })}\n`);
    check((await agent.next("event")).event === "ready" && grant.status === "active", `agent ${registered.agent.id} may pay from "travel" for 24 hours (grant ${grant.id}); the shop is at ${shopUrl}`);

    const buy = (item: string) => agent.proc.stdin.write(`${JSON.stringify({ cmd: "buy", item })}\n`);

    act(4, "The flight: $180.00, above Alice's $100 threshold", "The agent is told to wait; it long-polls while Alice looks at her pending approvals.");
    buy("flight PAR-LIS");
    const waiting = await agent.next("event");
    check(waiting.event === "waiting", `pending approval ${String(waiting.approvalId)} (${(waiting.reasons as string[]).join(", ")}); nothing is held yet`);
    const pending = await alice.approvals.listPending();
    check(pending.data.length === 1 && pending.data[0]!.id === waiting.approvalId, `Alice sees it: ${String(pending.data[0]!.summary.merchantName)}, ${$(pending.data[0]!.summary.amountMinor as bigint)}`);
    const approved = await alice.approvals.approve(waiting.approvalId as string, { note: "conference trip" });
    check(approved.approval.status === "approved" && approved.result?.status === "approved", "she approves; the token goes to the agent, not to her");
    const flight = await agent.next("event");
    check(flight.event === "bought" && flight.status === 201 && flight.captured === "180.00", `the shop redeemed ${$(usd("180.00"))} for payment ${String(flight.paymentId)}`);

    act(5, "A seat upgrade: $42.00, under the threshold", "Allowed at once: hold and token in one durable command; the shop verifies offline and redeems.");
    buy("seat upgrade");
    const upgrade = await agent.next("event");
    check(upgrade.event === "bought" && upgrade.captured === "42.00", "approved without asking Alice, redeemed by the shop");

    act(6, "Business class: $260.00", "Over the $250 per-payment cap: declined with the reasons; nothing moves.");
    buy("business class");
    const declined = await agent.next("event");
    check(declined.event === "refused" && declined.code === "PAYMENT_DECLINED" && (declined.reasons as string[]).includes("POLICY_PER_PAYMENT_EXCEEDED"),
      `PAYMENT_DECLINED (${(declined.reasons as string[]).join(", ")}), request ${String(declined.requestId)}`);

    act(7, "Alice freezes the sub-wallet", "The kill switch: the agent's very next request is refused.");
    await alice.wallets.freeze(travel.id, { reason: "trip booked" });
    buy("lounge pass");
    const frozen = await agent.next("event");
    check(frozen.event === "refused" && frozen.code === "SUBWALLET_FROZEN", "SUBWALLET_FROZEN");

    act(8, "What Alice's statement says", "Read over HTTP: the library's own records (bigint minor units) on her side.");
    for (const e of (await alice.wallets.statement(travel.id)).entries) {
      out(`     #${String(e.seq).padStart(3)} ${e.kind.padEnd(7)} ${e.direction.padEnd(6)} ${$(e.amountMinor).padStart(8)}  balance ${$(e.balanceAfterMinor).padStart(8)}`);
    }
    const b = await alice.wallets.balance(travel.id);
    check(b.postedMinor === 40_000n - 18_000n - 4_200n && b.pendingDebitsMinor === 0n, `travel ends at ${$(b.postedMinor)}: ${$(40_000n)} − ${$(18_000n)} − ${$(4_200n)}`);
    const payments = await alice.payments.list({ subWalletId: travel.id });
    check(payments.data.map((p) => p.status).join(",") === "declined,captured,captured", "her payments: one declined, two captured (the frozen attempt never became a payment)");
    check((await operator.ledger.check()).ok, "the ledger's invariants hold");
    agent.proc.stdin.write(`${JSON.stringify({ cmd: "exit" })}\n`);
  } finally {
    for (const c of children) c.proc.kill("SIGTERM");
    const code = await server.stop();
    if (code !== 0 && failures === 0) {
      failures++;
      console.error(`the server exited with ${code}: ${server.stderr()}`);
    }
    rmSync(dir, { recursive: true, force: true });
  }
  check(failures === 0, "the server drained and closed cleanly (SIGTERM)");
}

const role = process.argv[2];
if (role === "agent") await agentProcess();
else if (role === "merchant") await merchantProcess();
else {
  narrator().then(
    () => out("\nEverything behaved as told: three processes, real sockets."),
    (e) => {
      console.error(`\n✗ ${(e as Error).message}`);
      process.exit(1);
    },
  );
}
