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
import type { Role, Transfer } from "../../src/index.ts";
import { auditFailover } from "../../scripts/bench/pg-audit.ts";
import type { NodeSetup } from "../../scripts/bench/pg-audit.ts";
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

/** What the old leader acknowledged is on `pay`; its requests, retried there, apply nothing twice. */
async function checkAfterFailover(pay: AgentPay, child: Child, setup: NodeSetup): Promise<void> {
  const audit = await auditFailover(pay, child.lines, setup);
  expect(audit.acked).to.be.greaterThan(0);
  expect(audit.retried).to.be.at.least(audit.acked);
  expect(audit).to.include({ lostAcked: 0, doubleApplied: 0, ledgerProblems: 0 });
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
      await checkAfterFailover(standby, leader, JSON.parse(readFileSync(setupFile, "utf8")) as NodeSetup);
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
      const setup = JSON.parse(readFileSync(setupFile, "utf8")) as NodeSetup;
      const client = standby.agentClient({ agentId: setup.agentId, privateKeyJwk: setup.jwk });
      const mine = await client.requestPayment({ subWalletId: setup.subWallet, merchantId: setup.merchant, amount: amount(500n, "USD"), idempotencyKey: "new-leader-1" });
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
      const wallet = await lead.wallets.create({ ownerId: "o", currency: "USD", timeZone: "UTC" });
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
