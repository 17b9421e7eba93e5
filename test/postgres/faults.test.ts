// Faults with real processes and a real server: a leader SIGKILLed or SIGSTOPped under load, a
// standby SIGSTOPped while the log it needs is folded away, PostgreSQL itself restarted under load.
import { expect } from "chai";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AgentPay, amount, isAgentPayError } from "../../src/index.ts";
import type { Payment, Role, Transfer } from "../../src/index.ts";
import { TestCluster } from "../helpers/pg.ts";
import { freshSchema, openNode, pgUrl, sql, until } from "./helpers.ts";

const CHILD = fileURLToPath(new URL("../../scripts/bench/pg-node.ts", import.meta.url));

/** A scripts/bench/pg-node.ts process and every line it printed. */
class Child {
  readonly proc: ChildProcess;
  readonly lines: string[][] = [];
  #buf = "";
  stderr = "";

  constructor(args: string[]) {
    this.proc = spawn(process.execPath, [CHILD, args[0]!, pgUrl(), ...args.slice(1)], { stdio: ["ignore", "pipe", "pipe"] });
    this.proc.stdout!.setEncoding("utf8");
    this.proc.stdout!.on("data", (chunk: string) => {
      this.#buf += chunk;
      let nl;
      while ((nl = this.#buf.indexOf("\n")) >= 0) {
        this.lines.push(this.#buf.slice(0, nl).split(" "));
        this.#buf = this.#buf.slice(nl + 1);
      }
    });
    this.proc.stderr!.on("data", (d) => (this.stderr += d));
  }

  count(word: string, third?: string): number {
    return this.lines.filter((l) => l[0] === word && (third === undefined || l[3] === third)).length;
  }

  async waitFor(what: string, cond: () => boolean): Promise<void> {
    await until(() => {
      if (this.proc.exitCode !== null && !this.proc.killed) throw new Error(`child exited: ${this.stderr}`);
      return cond();
    }, what, 60_000);
  }

  kill(signal: NodeJS.Signals): void {
    this.proc.kill(signal);
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise((r) => this.proc.once("exit", r));
    this.proc.kill("SIGCONT");
    this.proc.kill("SIGKILL");
    await exited;
  }
}

interface Setup { subWallet: string; merchant: string; agentId: string; jwk: Record<string, unknown> }

/**
 * What the child acknowledged is in `pay` (every ack is a fact); retrying every request the child
 * started, with its own idempotency keys, applies none twice; no token is redeemed twice.
 */
async function checkAfterFailover(pay: AgentPay, child: Child, setup: Setup): Promise<void> {
  expect(pay.ledger.check().problems).to.deep.equal([]);
  const acked = new Map<string, { paymentId: string; captured: boolean }>();
  for (const l of child.lines) {
    if (l[0] !== "ack") continue;
    const prior = acked.get(l[1]!);
    acked.set(l[1]!, { paymentId: l[2]!, captured: prior?.captured === true || l[3] === "captured" });
  }
  expect(acked.size).to.be.greaterThan(0);
  for (const [key, a] of acked) {
    const p = pay.payments.get(a.paymentId);
    expect(p.idempotencyKey, key).to.equal(key);
    if (a.captured) expect(p.status, key).to.equal("captured");
    else expect(["authorized", "captured"], key).to.include(p.status);
  }
  // Every request the child started, retried on the new leader with the same key: the same payment
  // for the acknowledged ones, and no second payment, hold or capture for any of them.
  const client = pay.agentClient({ agentId: setup.agentId, privateKeyJwk: setup.jwk });
  const tried = child.lines.filter((l) => l[0] === "try");
  for (const [, key, minor] of tried as Array<[string, string, string]>) {
    const r = await client.requestPayment({ subWallet: setup.subWallet, merchant: setup.merchant, amount: amount(BigInt(minor), "USD"), idempotencyKey: key });
    if (acked.has(key)) expect(r.paymentId, key).to.equal(acked.get(key)!.paymentId);
    if (r.status !== "approved") continue;
    const receipt = await pay.payments.redeem({ token: r.token, merchant: setup.merchant, amount: amount(90n, "USD"), idempotencyKey: `cap-${key}` });
    expect(receipt.paymentId).to.equal(r.paymentId);
    // A second redemption of the token, under a new key: refused.
    const again = await pay.payments.redeem({ token: r.token, merchant: setup.merchant, amount: amount(90n, "USD"), idempotencyKey: `other-${key}` }).catch((e: unknown) => e);
    expect(isAgentPayError(again, "TOKEN_ALREADY_REDEEMED"), key).to.equal(true);
  }
  const payments = [...pay.engine.scan<Payment>("pm/")].map(([, p]) => p);
  const byKey = new Map<string, number>();
  for (const p of payments) byKey.set(p.idempotencyKey, (byKey.get(p.idempotencyKey) ?? 0) + 1);
  for (const [key, n] of byKey) expect(n, `payments for ${key}`).to.equal(1);
  // One capture per hold: the merchant got exactly 0.90 per captured payment.
  const posts = [...pay.engine.scan<Transfer>("tr/")].map(([, t]) => t).filter((t) => t.kind === "post");
  const holds = new Set(posts.map((t) => t.pendingId));
  expect(holds.size).to.equal(posts.length);
  const captured = payments.filter((p) => p.status === "captured").length;
  expect(pay.merchants.balanceMinor(setup.merchant, "USD")).to.equal(90n * BigInt(captured));
  expect(pay.ledger.check().problems).to.deep.equal([]);
}

describe("PostgreSQL faults: processes killed, stopped and starved; the server restarted", function () {
  this.timeout(300_000);
  let root: string;
  const children: Child[] = [];
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "agentpay-faults-"));
  });
  afterEach(async () => {
    for (const c of children.splice(0)) await c.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it("SIGKILL of the leader under load: the standby takes over; every acknowledged payment is there, none applied twice, no token redeemed twice", async () => {
    const schema = freshSchema();
    const setupFile = join(root, "setup.json");
    const leader = new Child(["load", schema, setupFile, "k"]);
    children.push(leader);
    await leader.waitFor("the leader is set up", () => leader.count("ready") === 1);
    const standby = await openNode(schema, { nodeName: "standby" });
    try {
      expect(standby.role).to.equal("standby");
      const roles: Role[] = [];
      standby.onRoleChange((r) => roles.push(r));
      await leader.waitFor("payments under way", () => leader.count("ack", "captured") >= 50);
      leader.kill("SIGKILL");
      await until(() => standby.role === "leader", "the standby takes over");
      expect(roles).to.deep.equal(["leader"]);
      await checkAfterFailover(standby, leader, JSON.parse(readFileSync(setupFile, "utf8")) as Setup);
    } finally {
      await standby.close();
    }
  });

  it("SIGSTOP of the leader past its lease: a standby takes over; after SIGCONT the old leader's writes are refused by the fence and it steps down", async () => {
    const schema = freshSchema();
    const setupFile = join(root, "setup.json");
    const leader = new Child(["load", schema, setupFile, "s"]);
    children.push(leader);
    await leader.waitFor("the leader is set up", () => leader.count("ready") === 1);
    const standby = await openNode(schema, { nodeName: "standby" });
    try {
      await leader.waitFor("payments under way", () => leader.count("ack", "captured") >= 30);
      leader.kill("SIGSTOP");
      const linesAtStop = leader.lines.length;
      await until(() => standby.role === "leader", "the standby takes over once the lease expired");
      const [{ epoch: newEpoch }] = await sql<{ epoch: string }>(pgUrl(), `SELECT epoch FROM ${schema}.lease`) as [{ epoch: string }];
      // The new leader works while the old one is frozen.
      const setup = JSON.parse(readFileSync(setupFile, "utf8")) as Setup;
      const client = standby.agentClient({ agentId: setup.agentId, privateKeyJwk: setup.jwk });
      const mine = await client.requestPayment({ subWallet: setup.subWallet, merchant: setup.merchant, amount: amount(500n, "USD"), idempotencyKey: "new-leader-1" });
      leader.kill("SIGCONT");
      await leader.waitFor("the old leader steps down", () => leader.lines.slice(linesAtStop).some((l) => l[0] === "role" && l[1] === "standby"));
      await leader.waitFor("its callers get NOT_LEADER", () => leader.lines.slice(linesAtStop).some((l) => l[0] === "err" && l[2] === "NOT_LEADER"));
      // Fenced: no row of an older epoch after the first row of the new one.
      const [order] = await sql<{ last_old: string | null; first_new: string | null }>(pgUrl(),
        `SELECT max(pos) FILTER (WHERE epoch < $1) AS last_old, min(pos) FILTER (WHERE epoch >= $1) AS first_new FROM ${schema}.log`, [newEpoch]);
      expect(Number(order!.last_old)).to.be.below(Number(order!.first_new));
      // Whatever the old leader acknowledged (before the stop or after the resume) is on the new leader.
      expect(standby.payments.get(mine.paymentId).status).to.equal("authorized");
      await checkAfterFailover(standby, leader, setup);
    } finally {
      await standby.close();
    }
  });

  it("a standby stopped while the log it needs is folded away reloads from the snapshot and catches up", async () => {
    const schema = freshSchema();
    const setupFile = join(root, "setup.json");
    // The leader in this process, keeping no log the snapshot covers.
    const lead = await openNode(schema, { nodeName: "leader", logRetentionMs: 0 });
    try {
      const wallet = await lead.wallets.create({ owner: "o", currency: "USD" });
      await lead.wallets.deposit(wallet.id, amount("1000.00", "USD"), { idempotencyKey: "d" });
      const sw = await lead.wallets.createSubWallet(wallet.id, { name: "s", budget: amount("10.00", "USD") });
      const { writeFileSync } = await import("node:fs");
      writeFileSync(setupFile, JSON.stringify({ subWallet: sw.id, merchant: "", agentId: "", jwk: {} }));
      const follower = new Child(["follow", schema, setupFile]);
      children.push(follower);
      await follower.waitFor("the standby replays", () => follower.lines.some((l) => l[0] === "pos" && l[2] === "1000"));
      follower.kill("SIGSTOP");
      for (let i = 1; i <= 30; i++) await lead.wallets.fundSubWallet(sw.id, amount("1.00", "USD"), { idempotencyKey: `f${i}` });
      const position = lead.replication!.position;
      await until(async () => {
        const [r] = await sql<{ snap: string; min: string }>(pgUrl(), `SELECT (SELECT pos FROM ${schema}.snapshot) AS snap, (SELECT min(pos) FROM ${schema}.log) AS min`);
        return r!.snap === String(position) && r!.min === String(position);
      }, "the log the standby needs is folded and removed");
      follower.kill("SIGCONT");
      await follower.waitFor("the standby reloads and catches up", () => follower.lines.some((l) => l[0] === "pos" && l[1] === String(position)));
      const last = follower.lines.filter((l) => l[0] === "pos").at(-1)!;
      expect(last).to.deep.equal(["pos", String(position), String(lead.wallets.balance(sw.id).postedMinor)]);
    } finally {
      await lead.close();
    }
  });

  it("PostgreSQL restarted under load: callers get clear errors, the node leads again by itself, nothing acknowledged is lost", async () => {
    const cluster = new TestCluster();
    try {
      const url = cluster.start();
      const schema = freshSchema();
      const pay = await AgentPay.open({ postgres: { url, schema, leaseMs: 1_000, pollMs: 50 }, delivery: false, background: false, risk: "off" });
      try {
        await pay.ledger.createAccount({ id: "src", currency: "USD" });
        await pay.ledger.createAccount({ id: "dst", currency: "USD" });
        const acked: string[] = [];
        const codes = new Set<string>();
        let n = 0;
        let stop = false;
        const caller = async () => {
          while (!stop) {
            const id = `t${n++}`;
            try {
              await pay.ledger.transfer({ id, debitAccountId: "src", creditAccountId: "dst", amount: amount(1n, "USD") });
              acked.push(id);
            } catch (e) {
              codes.add(isAgentPayError(e) ? e.code : String(e));
              await new Promise((r) => setTimeout(r, 20));
            }
          }
        };
        const load = Promise.all(Array.from({ length: 32 }, caller));
        await until(() => acked.length >= 200, "transfers under way");
        cluster.kill();
        await until(() => codes.size > 0, "callers see the outage");
        const ackedAtRestart = acked.length;
        cluster.start();
        await until(() => pay.role === "leader" && acked.length > ackedAtRestart + 100, "the node leads again and transfers go through");
        stop = true;
        await load;
        // Clear codes only: the standby's refusal, or the store's outage (in doubt: retry with the same id).
        expect([...codes].filter((c) => c !== "NOT_LEADER" && c !== "STORE_UNAVAILABLE")).to.deep.equal([]);
        expect(codes.has("STORE_UNAVAILABLE") || codes.has("NOT_LEADER")).to.equal(true);
        const total = pay.ledger.balance("dst").postedMinor;
        expect(total >= BigInt(acked.length)).to.equal(true);
        for (const id of acked) expect(pay.ledger.getTransfer(id), id).to.not.equal(undefined);
      } finally {
        await pay.close();
      }
      // A fresh node sees exactly what was acknowledged, and in-doubt ones at most once.
      const again = await AgentPay.open({ postgres: { url, schema }, delivery: false, background: false });
      try {
        expect(again.ledger.check().problems).to.deep.equal([]);
        const transfers = [...again.engine.scan<Transfer>("tr/")].length;
        expect(again.ledger.balance("dst").postedMinor).to.equal(BigInt(transfers));
      } finally {
        await again.close();
      }
    } finally {
      cluster.destroy();
    }
  });
});
