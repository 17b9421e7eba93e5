import { expect } from "chai";
import { AgentPay, AgentPayError, amount } from "../../src/index.ts";
import type { Role } from "../../src/index.ts";
import { migrations } from "../../src/postgres/index.ts";
import { rejectsWith } from "../ledger/helpers.ts";
import { freshSchema, openNode, pgUrl, sql, until } from "./helpers.ts";

const usd = (minor: bigint) => amount(minor, "USD");

describe("PostgreSQL: open, migrations and options", function () {
  this.timeout(60_000);

  it("a fresh schema gets every migration once, recorded in schema_version; reopening applies nothing again", async () => {
    const schema = freshSchema();
    // Two nodes opening a fresh schema at once: the migrations run once (a lock serialises them).
    const [a, b] = await Promise.all([openNode(schema), openNode(schema)]);
    const versions = await sql<{ version: number; name: string }>(pgUrl(), `SELECT version, name FROM ${schema}.schema_version ORDER BY version`);
    expect(versions.map((v) => v.version)).to.deep.equal(migrations().map((m) => m.version));
    expect(versions.map((v) => v.name)).to.deep.equal(["001_log.sql", "002_read_models.sql"]);
    expect([a.role, b.role].sort()).to.deep.equal(["leader", "standby"]);
    await Promise.all([a.close(), b.close()]);
    const again = await openNode(schema);
    expect((await sql(pgUrl(), `SELECT * FROM ${schema}.schema_version`)).length).to.equal(versions.length);
    await again.close();
  });

  it("a schema newer than this code knows is refused with STORE_FAILURE, and left alone", async () => {
    const schema = freshSchema();
    await (await openNode(schema)).close();
    await sql(pgUrl(), `INSERT INTO ${schema}.schema_version (version, name) VALUES (99, '099_future.sql')`);
    const err = await rejectsWith(openNode(schema), "STORE_FAILURE");
    expect(err.message).to.match(/version 99.*upgrade agentpay/);
    expect((await sql(pgUrl(), `SELECT max(version) AS v FROM ${schema}.schema_version`))[0]).to.deep.equal({ v: 99 });
  });

  it("bad options are refused with INVALID_INPUT before anything connects, and never echo the URL", async () => {
    const url = pgUrl();
    const bad: unknown[] = [
      { postgres: "mysql://x" },
      { postgres: { url: "postgres://u:s3cret@/db?host=/nowhere", schema: "Bad-Name" } },
      { postgres: { url, schema: "x".repeat(49) } },
      { postgres: { url, leaseMs: 10 } },
      { postgres: { url, pollMs: 5_000, leaseMs: 1_000 } },
      { postgres: { url, projector: "yes" } },
      { postgres: { url, shards: 2 } },
      { postgres: 42 },
      { postgres: url, memory: true },
      { postgres: url, dir: "/tmp/x" },
    ];
    for (const options of bad) {
      const err = await AgentPay.open(options as never).catch((e: unknown) => e);
      expect(err, JSON.stringify(options)).to.be.instanceOf(AgentPayError);
      expect((err as AgentPayError).code).to.equal("INVALID_INPUT");
      expect(JSON.stringify((err as AgentPayError).toJSON())).to.not.contain("s3cret");
    }
  });

  it("an unreachable server fails the open with STORE_UNAVAILABLE (no password in the error)", async () => {
    const err = await rejectsWith(AgentPay.open({ postgres: "postgres://agentpay:s3cret@/postgres?host=/nonexistent-socket-dir" }), "STORE_UNAVAILABLE");
    expect(JSON.stringify(err.toJSON())).to.not.contain("s3cret");
  });
});

describe("PostgreSQL: one leader, standbys that replay and take over", function () {
  this.timeout(120_000);

  it("the first node leads; a second is a standby that serves replayed reads and refuses writes with NOT_LEADER naming the leader", async () => {
    const schema = freshSchema();
    const a = await openNode(schema, { nodeName: "node-a" });
    expect(a.role).to.equal("leader");
    await a.ledger.createAccount({ id: "src", currency: "USD" });
    await a.ledger.createAccount({ id: "dst", currency: "USD" });
    const b = await openNode(schema, { nodeName: "node-b" });
    try {
      expect(b.role).to.equal("standby");
      expect(b.replication).to.include({ role: "standby", leader: "node-a" });
      const before = b.engine.stats.records;
      const err = await rejectsWith(b.ledger.transfer({ id: "t-b", debitAccountId: "src", creditAccountId: "dst", amount: usd(5n) }), "NOT_LEADER");
      expect(err.details).to.deep.equal({ leader: "node-a" });
      expect(b.engine.stats.records).to.equal(before);
      // Writes on the leader reach the standby through the log.
      await Promise.all(Array.from({ length: 200 }, (_, i) => a.ledger.transfer({ id: `t${i}`, debitAccountId: "src", creditAccountId: "dst", amount: usd(1n) })));
      await until(() => b.ledger.balance("dst").postedMinor === 200n, "the standby replays the leader's transfers");
      expect(b.ledger.getTransfer("t199")?.amountMinor).to.equal(1n);
      expect(b.ledger.statement("dst").entries).to.have.length(100); // a page
      expect(b.ledger.check().problems).to.deep.equal([]);
      // Nothing the standby refused reached the log.
      expect(a.ledger.getTransfer("t0")).to.not.equal(undefined);
      expect(a.ledger.getTransfer("t-b")).to.equal(undefined);
    } finally {
      await b.close();
      await a.close();
    }
  });

  it("when the leader closes, the standby takes over, reports it, and takes commands on the same state", async () => {
    const schema = freshSchema();
    const a = await openNode(schema, { nodeName: "node-a" });
    await a.ledger.createAccount({ id: "src", currency: "USD" });
    await a.ledger.createAccount({ id: "dst", currency: "USD" });
    await a.ledger.transfer({ id: "t1", debitAccountId: "src", creditAccountId: "dst", amount: usd(7n) });
    const b = await openNode(schema, { nodeName: "node-b" });
    const roles: Role[] = [];
    b.onRoleChange((r) => roles.push(r));
    await a.close();
    await until(() => b.role === "leader", "the standby takes over");
    expect(roles).to.deep.equal(["leader"]);
    expect(b.replication).to.include({ role: "leader", leader: "node-b" });
    // The same idempotent transfer is recognised (the state came across), a new one goes through.
    await b.ledger.transfer({ id: "t1", debitAccountId: "src", creditAccountId: "dst", amount: usd(7n) });
    await b.ledger.transfer({ id: "t2", debitAccountId: "src", creditAccountId: "dst", amount: usd(3n) });
    expect(b.ledger.balance("dst").postedMinor).to.equal(10n);
    await b.close();
    const c = await openNode(schema);
    expect(c.ledger.balance("dst").postedMinor).to.equal(10n);
    expect(c.ledger.check().problems).to.deep.equal([]);
    await c.close();
  });

  it("a leader fenced by a newer epoch gets NOT_LEADER for its write, steps down, reloads, and never shows the refused write", async () => {
    const schema = freshSchema();
    const a = await openNode(schema, { nodeName: "node-a", leaseMs: 60_000, pollMs: 50 });
    await a.ledger.createAccount({ id: "src", currency: "USD" });
    await a.ledger.createAccount({ id: "dst", currency: "USD" });
    await a.ledger.transfer({ id: "t1", debitAccountId: "src", creditAccountId: "dst", amount: usd(1n) });
    const roles: Role[] = [];
    a.onRoleChange((r) => roles.push(r));
    const engineBefore = a.engine;
    // Another leader took the lease, as a standby does when this one was paused past its lease: by
    // expiry, without the advisory lock (this node's session still has it), so locked = false.
    await sql(pgUrl(), `UPDATE ${schema}.lease SET epoch = epoch + 1, holder = 'node-z', locked = false, expires_at = now() + interval '1 hour'`);
    await rejectsWith(a.ledger.transfer({ id: "t2", debitAccountId: "src", creditAccountId: "dst", amount: usd(1n) }), "NOT_LEADER");
    await until(() => a.engine !== engineBefore, "the fenced node rebuilds its state from the store");
    expect(roles).to.deep.equal(["standby"]);
    expect(a.role).to.equal("standby");
    // Its memory had applied t2 before the fence refused it; the rebuilt state has not.
    expect(a.ledger.getTransfer("t2")).to.equal(undefined);
    expect(a.ledger.balance("dst").postedMinor).to.equal(1n);
    const err = await rejectsWith(a.ledger.transfer({ id: "t3", debitAccountId: "src", creditAccountId: "dst", amount: usd(1n) }), "NOT_LEADER");
    expect(err.details).to.deep.equal({ leader: "node-z" });
    const epochs = await sql<{ epoch: string }>(pgUrl(), `SELECT DISTINCT epoch FROM ${schema}.log`);
    expect(epochs.map((r) => r.epoch)).to.deep.equal(["1"]);
    await a.close();
  });

  it("a standby-only node never takes the lease, even when there is no leader", async () => {
    const schema = freshSchema();
    const a = await openNode(schema);
    await a.ledger.createAccount({ id: "acc", currency: "USD" });
    await a.close();
    const r = await openNode(schema, { standbyOnly: true });
    await new Promise((res) => setTimeout(res, 300));
    expect(r.role).to.equal("standby");
    expect(r.ledger.getAccount("acc").currency).to.equal("USD");
    await rejectsWith(r.ledger.createAccount({ id: "other", currency: "USD" }), "NOT_LEADER");
    await r.close();
  });

  it("embedded stores always lead: role is leader and there is no replication status", async () => {
    const pay = await AgentPay.open({ memory: true, delivery: false, background: false });
    expect(pay.role).to.equal("leader");
    expect(pay.replication).to.equal(undefined);
    pay.onRoleChange(() => {})();
    await pay.close();
  });
});
