import { expect } from "chai";
import pg from "pg";
import { AgentPay } from "../../src/index.ts";
import { projectOnce } from "../../src/postgres/projector.ts";
import { statements } from "../../src/postgres/sql.ts";
import { freshSchema, openNode, pgUrl, sql, until } from "./helpers.ts";

/** Every record of the engine, as encoded text, in key order. */
function records(pay: AgentPay): Map<string, unknown> {
  return new Map([...pay.engine.scan("")].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

describe("PostgreSQL store: the log, the snapshot and loading", function () {
  this.timeout(120_000);

  it("writes each batch atomically and reads it all back after reopen, across many load chunks, odd keys and values included", async () => {
    const schema = freshSchema();
    const a = await openNode(schema, { projector: false });
    await a.engine.submit((tx) => {
      for (let i = 0; i < 10_000; i++) tx.put(`k/${String(i).padStart(5, "0")}`, { i, big: BigInt(i) ** 4n });
    });
    await a.engine.submit((tx) => {
      tx.put("u/é€😀", "naïve ☃ 😀");
      tx.put("u/\uffff", "after the BMP's last char, before astral ones in code point order");
      tx.put("u/$n", { $n: "not a bigint", $$x: 1 });
      tx.put("empty", "");
      tx.del("k/00001");
    });
    const failed = await a.engine.submit((tx) => {
      tx.put("k/00002", "changed");
      throw new Error("a failed command writes nothing");
    }).catch((e: unknown) => e);
    expect(failed).to.be.instanceOf(Error);
    const expected = records(a);
    await a.close();

    const b = await openNode(schema, { projector: false });
    expect(records(b)).to.deep.equal(expected);
    expect(b.engine.read("k/00001")).to.equal(undefined);
    expect(b.engine.read<{ big: bigint }>("k/09999")?.big).to.equal(9999n ** 4n);
    expect(b.engine.read("u/$n")).to.deep.equal({ $n: "not a bigint", $$x: 1 });
    expect(b.engine.read("k/00002")).to.deep.equal({ i: 2, big: 16n });
    await b.close();
  });

  it("loads the snapshot plus the log after it; the projector folds each position once, even when two run at once", async () => {
    const schema = freshSchema();
    const a = await openNode(schema, { projector: false });
    for (let i = 0; i < 40; i++) {
      await a.engine.submit((tx) => {
        tx.put(`n/${i % 7}`, { i });
        tx.put(`m/${i}`, { i });
        if (i % 5 === 4) tx.del(`m/${i - 2}`);
      });
    }
    const expected = records(a);
    await a.close();
    const logRows = Number((await sql<{ n: string }>(pgUrl(), `SELECT count(*) AS n FROM ${schema}.log`))[0]!.n);

    // Two projectors racing, a few rows at a time: every row is folded by exactly one of them.
    const pools = [new pg.Pool({ connectionString: pgUrl() }), new pg.Pool({ connectionString: pgUrl() })];
    const st = statements(schema);
    try {
      // Part of the log first: the load then has both a snapshot and a tail.
      const firstPart = await projectOnce(pools[0]!, st, 10);
      expect(firstPart).to.equal(10);
      const mid = await openNode(schema, { projector: false, standbyOnly: true });
      expect(records(mid)).to.deep.equal(expected);
      await mid.close();
      const folded = await Promise.all(pools.map(async (pool) => {
        let n = 0;
        for (let k; (k = await projectOnce(pool, st, 3)) > 0;) n += k;
        return n;
      }));
      expect(firstPart + folded[0]! + folded[1]!).to.equal(logRows);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
    const snap = await sql<{ key: string; value: string }>(pgUrl(), `SELECT key, value FROM ${schema}.snapshot_record ORDER BY key`);
    expect(snap.map((r) => r.key)).to.deep.equal([...expected.keys()]);
    expect((await sql<{ pos: string }>(pgUrl(), `SELECT pos FROM ${schema}.snapshot`))[0]!.pos).to.equal(String(logRows));
    const b = await openNode(schema, { projector: false, standbyOnly: true });
    expect(records(b)).to.deep.equal(expected);
    await b.close();
  });

  it("the leader's projector keeps up and removes the log the snapshot covers; a reopen loads from the snapshot", async () => {
    const schema = freshSchema();
    const a = await openNode(schema, { logRetentionMs: 0 });
    for (let i = 0; i < 30; i++) await a.engine.submit((tx) => tx.put(`r/${i % 10}`, { i }));
    const expected = records(a);
    const last = a.replication!.position;
    await until(async () => {
      const [row] = await sql<{ pos: string; rows: string }>(pgUrl(), `SELECT (SELECT pos FROM ${schema}.snapshot) AS pos, (SELECT count(*) FROM ${schema}.log) AS rows`);
      return row!.pos === String(last) && row!.rows === "1";
    }, "the snapshot covers the whole log and the covered rows are gone");
    await a.close();
    // The newest row stays (positions go on from it); everything else loads from the snapshot.
    expect(await sql(pgUrl(), `SELECT pos FROM ${schema}.log`)).to.deep.equal([{ pos: String(last) }]);
    const b = await openNode(schema);
    expect(records(b)).to.deep.equal(expected);
    await b.engine.submit((tx) => tx.put("after", true));
    expect(b.replication!.position).to.equal(last + 1);
    await b.close();
  });

  it("a gap in the log is damage: the open is refused with STORE_FAILURE", async () => {
    const schema = freshSchema();
    const a = await openNode(schema, { projector: false });
    for (let i = 0; i < 5; i++) await a.engine.submit((tx) => tx.put(`g/${i}`, i));
    await a.close();
    await sql(pgUrl(), `DELETE FROM ${schema}.log WHERE pos = 3`);
    const err = await openNode(schema).catch((e: unknown) => e);
    expect(err).to.have.property("code", "STORE_FAILURE");
    expect((err as Error).message).to.match(/missing position 3/);
  });
});
