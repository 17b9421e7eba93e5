// The `agentpay` CLI as a person types it: every command as a subprocess against a real server (itself
// `agentpay serve` in a child process), human output and --json both checked; bad arguments exit 2,
// refusals exit 1 with the code and what to do next.
import { expect } from "chai";
import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const main = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const OPERATOR = `apk_o_${"t".repeat(43)}`;

interface Run { code: number | null; out: string; err: string; json: any }

describe("CLI: every command against a real server", function () {
  this.timeout(180_000);
  let server: ChildProcess;
  let url = "";
  let dir = "";
  const env = () => ({ ...process.env, AGENTPAY_URL: url, AGENTPAY_KEY: OPERATOR, AGENTPAY_CONFIG: join(dir, "config.json"), NO_COLOR: "1" });
  const run = (args: string[], extraEnv: Record<string, string> = {}): Run => {
    const r = spawnSync(process.execPath, [main, ...args], { env: { ...env(), ...extraEnv }, encoding: "utf8", cwd: dir, timeout: 60_000 });
    let json: unknown;
    try {
      json = JSON.parse(r.stdout);
    } catch {
      json = undefined;
    }
    return { code: r.status, out: r.stdout, err: r.stderr, json };
  };
  const ok = (args: string[], extraEnv?: Record<string, string>) => {
    const r = run(args, extraEnv);
    expect(r.code, `${args.join(" ")}\n${r.err}`).to.equal(0);
    return r;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "agentpay-cli-"));
    server = spawn(process.execPath, [main, "serve", "--memory", "--port", "0", "--risk", "off"], { env: { ...process.env, AGENTPAY_OPERATOR_KEY: OPERATOR }, stdio: ["ignore", "pipe", "inherit"] });
    url = await new Promise<string>((resolve) => {
      let buf = "";
      server.stdout!.on("data", (b: Buffer) => {
        buf += b.toString();
        const m = /listening on (http:\/\/\S+)/.exec(buf);
        if (m) resolve(m[1]!);
      });
    });
  });
  after(() => {
    server.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  });

  it("--help lists every command; unknown commands and missing arguments exit 2", () => {
    const help = ok(["--help"]).out;
    for (const c of ["init", "serve", "wallet", "subwallet", "agent", "grant", "merchant", "approvals", "payments", "statement", "pay", "refund", "chain", "mcp", "demo"]) {
      expect(help).to.match(new RegExp(`\\n  ${c}\\b`), c);
    }
    expect(run(["nope"]).code).to.equal(2);
    expect(run(["wallet", "create", "--currency", "USD"]).code).to.equal(2);
    expect(run(["wallet", "deposit", "wal_x"]).code).to.equal(2);
    expect(run(["serve", "--memory", "--data", "x"]).code).to.equal(2);
    expect(run(["chain", "deploy"], { AGENTPAY_RPC_URL: "" }).code).to.equal(2);
  });

  it("a person's day: wallet, sub-wallet with rules, agent, grant, merchant, pay, approve, statement, refund, freeze", () => {
    const wallet = ok(["wallet", "create", "--owner", "alice", "--currency", "USD", "--time-zone", "Europe/Paris", "--json"]).json;
    expect(wallet.id).to.match(/^wal_/);
    expect(ok(["wallet", "create", "--owner", "bob", "--currency", "USD", "--time-zone", "UTC"]).out).to.match(/created wallet wal_/);
    // The person's own key.
    const key = ok(["key", "create", "--person", "alice", "--json"]).json;
    const alice = { AGENTPAY_KEY: key.secret as string };
    expect(ok(["wallet", "deposit", wallet.id, "500.00", "USD", "--idempotency-key", "dep-1"], alice).out).to.contain("500.00 USD");
    ok(["wallet", "deposit", wallet.id, "500.00", "USD", "--idempotency-key", "dep-1"], alice);
    ok(["wallet", "withdraw", wallet.id, "10.00", "USD"], alice);
    const shown = ok(["wallet", "show", wallet.id, "--json"], alice).json;
    expect(shown.balance.posted).to.deep.equal({ value: "490.00", currency: "USD" });
    expect(ok(["wallet", "list"], alice).out).to.contain("490.00 USD");
    // Another person's wallet is not alice's business.
    const other = run(["wallet", "show", ok(["wallet", "list", "--owner", "bob", "--json"]).json[0].id], alice);
    expect(other.code).to.equal(1);
    expect(other.err).to.contain("NOT_FOUND");

    const sw = ok(["subwallet", "create", wallet.id, "--name", "travel", "--budget", "200.00", "--per-payment", "150.00", "--daily", "300.00", "--approval-above", "100.00", "--categories", "4511,7011", "--json"], alice).json;
    expect(sw.policy.perPayment).to.deep.equal({ value: "150.00", currency: "USD" });
    ok(["subwallet", "fund", sw.id, "20.00"], alice);
    ok(["subwallet", "defund", sw.id, "10.00"], alice);
    const policy = ok(["subwallet", "policy", sw.id], alice).out;
    expect(policy).to.contain("perPayment").and.contain("150.00 USD").and.contain("daily");

    const agentFile = join(dir, "bot.json");
    const reg = ok(["agent", "register", "--name", "trip-planner", "--key-out", agentFile, "--json"], alice).json;
    expect(statSync(agentFile).mode & 0o777).to.equal(0o600);
    expect(readFileSync(agentFile, "utf8")).to.contain('"d"');
    expect(run(["agent", "register", "--name", "again", "--key-out", agentFile], alice).code).to.equal(2);
    const grant = ok(["grant", "create", "--sub-wallet", sw.id, "--agent", reg.agent.id, "--scopes", "pay,refund:request", "--mode", "persistent", "--json"], alice).json;
    expect(ok(["grant", "list", "--sub-wallet", sw.id], alice).out).to.contain(grant.id);

    const merchant = ok(["merchant", "register", "--name", "SkyAir", "--category", "4511", "--json"]).json;
    const shop = { AGENTPAY_KEY: merchant.apiKey.secret as string, AGENTPAY_MERCHANT_ID: merchant.merchant.id as string };

    const paid = ok(["pay", "--agent-key", agentFile, "--sub-wallet", sw.id, "--merchant", merchant.merchant.id, "--amount", "80.00", "--currency", "USD", "--json"], { AGENTPAY_KEY: "" }).json;
    expect(paid.status).to.equal("approved");
    expect(paid.token).to.be.a("string");

    // Above the threshold: `pay` waits while the person approves from another terminal.
    const waiting = spawn(process.execPath, [main, "pay", "--agent-key", agentFile, "--sub-wallet", sw.id, "--merchant", merchant.merchant.id, "--amount", "120.00", "--currency", "USD", "--json"], { env: env() });
    let payOut = "";
    waiting.stdout!.on("data", (b: Buffer) => { payOut += b.toString(); });
    const done = new Promise<number | null>((r) => waiting.once("exit", r));
    let approvalId: string | undefined;
    for (let i = 0; i < 100 && !approvalId; i++) {
      approvalId = ok(["approvals", "list", "--json"], alice).json[0]?.id;
      if (!approvalId) spawnSync("sleep", ["0.1"]);
    }
    const listed = ok(["approvals", "list"], alice).out;
    expect(listed).to.contain("SkyAir").and.contain("120.00 USD").and.contain("4511").and.contain("APPROVAL_THRESHOLD");
    ok(["approvals", "approve", approvalId!, "--note", "fine"], alice);
    return done.then((code) => {
      expect(code).to.equal(0);
      expect(JSON.parse(payOut).status).to.equal("approved");
      // The merchant redeems with the library's HTTP client elsewhere; here it refunds what it captured.
      const payments = ok(["payments", "list", "--sub-wallet", sw.id, "--json"], alice).json;
      expect(payments.length).to.equal(2);
      expect(ok(["payments", "show", payments[0].id], alice).out).to.contain("authorized");
      const refused = run(["refund", payments[0].id, "1.00", "USD"], shop);
      expect(refused.code).to.equal(1);
      expect(refused.err).to.contain("PAYMENT_NOT_CAPTURED");
      const denied = run(["pay", "--agent-key", agentFile, "--sub-wallet", sw.id, "--merchant", merchant.merchant.id, "--amount", "151.00", "--currency", "USD"], alice);
      expect(denied.code).to.equal(1);
      expect(denied.err).to.contain("PAYMENT_DECLINED").and.contain("POLICY_PER_PAYMENT_EXCEEDED").and.contain("next:");

      const csv = ok(["statement", sw.id, "--csv"], alice).out;
      expect(csv.split("\n")[0]).to.equal("at,kind,direction,amount,currency,balance,counterparty,transfer,code");
      expect(ok(["statement", sw.id, "--json"], alice).json.entries.length).to.be.greaterThan(2);
      expect(ok(["statement", sw.id], alice).out).to.contain("budget");

      ok(["subwallet", "freeze", sw.id], alice);
      const frozen = run(["pay", "--agent-key", agentFile, "--sub-wallet", sw.id, "--merchant", merchant.merchant.id, "--amount", "1.00", "--currency", "USD"], alice);
      expect(frozen.err).to.contain("SUBWALLET_FROZEN");
      ok(["subwallet", "unfreeze", sw.id], alice);
      ok(["grant", "revoke", grant.id], alice);
      ok(["agent", "rotate-key", reg.agent.id, "--key-out", join(dir, "bot2.json"), "--grace", "1h"], alice);
      expect(ok(["agent", "disable", reg.agent.id, "--json"], alice).json.status).to.equal("disabled");
      const rotated = ok(["merchant", "rotate-key", merchant.apiKey.apiKey.id, "--json"]).json;
      expect(rotated.secret).to.match(/^apk_m_/);
      expect(ok(["key", "revoke", key.apiKey.id, "--json"]).json.revokedAt).to.be.a("string");
      expect(run(["wallet", "list"], alice).err).to.contain("UNAUTHENTICATED");
    });
  });

  it("chain reconcile on a server without the chain bridge: CHAIN_NOT_ENABLED, exit 1", () => {
    const r = run(["chain", "reconcile", "--settlement", `0x${"1".repeat(40)}`, "--rpc-url", "http://127.0.0.1:9"]);
    expect(r.code).to.equal(1);
    expect(r.err).to.contain("CHAIN_NOT_ENABLED");
  });

  it("init is idempotent and writes a 0600 config; demo tells its story and exits 0", () => {
    const data = join(dir, "data");
    const first = ok(["init", "--data", data, "--json"]).json;
    expect(first.operatorKeyCreated).to.equal(true);
    expect(statSync(join(dir, "config.json")).mode & 0o777).to.equal(0o600);
    expect(ok(["init", "--data", data, "--json"]).json.operatorKeyCreated).to.equal(false);
    const demo = ok(["demo"]);
    expect(demo.out).to.contain("every step behaved as told");
    writeFileSync(join(dir, "noop"), "");
  });
});
