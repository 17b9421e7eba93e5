import { expect } from "chai";
import { AgentPayError, ManualClock } from "../../src/core/index.ts";
import { Engine, MemoryStore } from "../../src/engine/index.ts";
import type { Store } from "../../src/engine/index.ts";

async function open(store: Store = new MemoryStore(), opts: { maxQueue?: number; maxBatch?: number } = {}) {
  const engine = Engine.create({ store, clock: new ManualClock(), ...opts });
  await engine.load();
  return engine;
}

describe("engine", () => {
  it("applies commands one at a time and persists them", async () => {
    const store = new MemoryStore();
    const engine = await open(store);
    const results = await Promise.all(
      Array.from({ length: 100 }, () => engine.submit((tx) => {
        const n = (tx.get<number>("counter") ?? 0) + 1;
        tx.put("counter", n);
        return n;
      })),
    );
    expect([...results].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 100 }, (_, i) => i + 1));
    await engine.close();
    const again = await open(store);
    expect(again.read<number>("counter")).to.equal(100);
  });

  it("a failed command leaves no trace, in memory or on disk", async () => {
    const store = new MemoryStore();
    const engine = await open(store);
    await engine.submit((tx) => tx.put("a", 1));
    const err = await engine.submit((tx) => {
      tx.put("a", 2);
      tx.put("b", 3);
      throw new AgentPayError("INVALID_INPUT", "nope");
    }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(AgentPayError);
    expect(engine.read("a")).to.equal(1);
    expect(engine.read("b")).to.equal(undefined);
    await engine.close();
    const again = await open(store);
    expect(again.read("a")).to.equal(1);
    expect(again.read("b")).to.equal(undefined);
  });

  it("groups concurrent commands into few durable batches", async () => {
    const engine = await open();
    await Promise.all(Array.from({ length: 1_000 }, (_, i) => engine.submit((tx) => tx.put(`k${i}`, i))));
    expect(engine.stats.commands).to.equal(1_000);
    expect(engine.stats.batches).to.be.lessThan(100);
  });

  it("bounds its queue: past the limit, ENGINE_OVERLOADED and nothing applied", async () => {
    const engine = await open(new MemoryStore(), { maxQueue: 10 });
    const settled = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => engine.submit((tx) => tx.put(`k${i}`, i))));
    const rejected = settled.filter((s) => s.status === "rejected") as PromiseRejectedResult[];
    expect(rejected.length).to.be.greaterThan(0);
    for (const r of rejected) expect(r.reason.code).to.equal("ENGINE_OVERLOADED");
    const applied = settled.filter((s) => s.status === "fulfilled").length;
    expect([...engine.scan("k")].length).to.equal(applied);
  });

  it("stops after a store failure; reopening restores the acknowledged state", async () => {
    const store = new MemoryStore();
    const engine = await open(store);
    await engine.submit((tx) => tx.put("ok", true));
    store.failNextWrite = true;
    const err = await engine.submit((tx) => tx.put("lost", true)).catch((e: unknown) => e);
    expect(err).to.have.property("code", "STORE_FAILURE");
    const later = await engine.submit((tx) => tx.put("later", true)).catch((e: unknown) => e);
    expect(later).to.have.property("code", "STORE_FAILURE");
    const again = await open(store);
    expect(again.read("ok")).to.equal(true);
    expect(again.read("lost")).to.equal(undefined);
  });

  it("a batch handed to the store behind a failing one is never written: the disk holds a prefix", async () => {
    const mem = new MemoryStore();
    const writes: number[] = [];
    // Each batch reaches the store at once, but its answer waits for the gate: the second batch is
    // handed over while the first (which fails) is still in flight.
    let gate: Promise<void> = Promise.resolve();
    const store: Store = {
      open: () => mem.open(), entries: () => mem.entries(), close: () => mem.close(),
      write: (ops) => {
        writes.push(ops.length);
        const done = mem.write(ops);
        return gate.then(() => done);
      },
    };
    const engine = await open(store, { maxBatch: 1 });
    await engine.submit((tx) => tx.put("ok", 1));
    let release!: () => void;
    gate = new Promise<void>((r) => (release = r));
    mem.failNextWrite = true;
    const a = engine.submit((tx) => tx.put("a", 1)).catch((e: unknown) => e);
    const b = engine.submit((tx) => tx.put("b", 1)).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 10));
    expect(writes).to.deep.equal([1, 1, 1]); // both later batches were handed over before either answered
    release();
    expect(await a).to.have.property("code", "STORE_FAILURE");
    expect(await b).to.have.property("code", "STORE_FAILURE");
    const again = await open(mem);
    expect(again.read("ok")).to.equal(1);
    expect(again.read("a")).to.equal(undefined);
    expect(again.read("b")).to.equal(undefined);
  });

  it("an observer that throws stops the engine (STORE_FAILURE) instead of leaving callers waiting; bad keys fail the command", async () => {
    const mem = new MemoryStore();
    const engine = Engine.create({ store: mem, clock: new ManualClock() });
    engine.observe("boom/", () => {
      throw new Error("observer bug");
    });
    await engine.load();
    await engine.submit((tx) => tx.put("ok", 1));
    const badKey = await engine.submit((tx) => tx.put(42 as never, 1)).catch((e: unknown) => e);
    expect(badKey).to.have.property("code", "INVARIANT_VIOLATION");
    const err = await engine.submit((tx) => tx.put("boom/1", 1)).catch((e: unknown) => e);
    expect(err).to.have.property("code", "STORE_FAILURE");
    const later = await engine.submit((tx) => tx.put("later", 1)).catch((e: unknown) => e);
    expect(later).to.have.property("code", "STORE_FAILURE");
    const again = await open(mem);
    expect(again.read("ok")).to.equal(1);
    expect(again.read("boom/1")).to.equal(undefined);
  });

  it("refuses commands after close and rejects async commands", async () => {
    const engine = await open();
    const err = await engine.submit((() => Promise.resolve(1)) as never).catch((e: unknown) => e);
    expect(err).to.have.property("code", "INVARIANT_VIOLATION");
    await engine.close();
    const closed = await engine.submit((tx) => tx.put("x", 1)).catch((e: unknown) => e);
    expect(closed).to.have.property("code", "ENGINE_CLOSED");
  });

  it("round-trips bigints and feeds observers at load and on commit", async () => {
    const store = new MemoryStore();
    const engine = await open(store);
    await engine.submit((tx) => tx.put("x/1", { v: 2n ** 100n }));
    await engine.close();
    const seen: unknown[] = [];
    const again = Engine.create({ store });
    again.observe("x/", (_k, _b, a) => seen.push(a));
    await again.load();
    expect(seen).to.deep.equal([{ v: 2n ** 100n }]);
    await again.submit((tx) => tx.put("x/2", { v: 1n }));
    expect(seen).to.have.length(2);
  });
});

describe("engine: Tx.nested", () => {
  it("undoes a failed unit's writes and lets the command go on", async () => {
    const engine = await open();
    const n = await engine.submit((tx) => {
      tx.put("a", 1);
      try {
        tx.nested(() => {
          tx.put("a", 2);
          tx.put("b", 2);
          tx.afterCommit(() => tx.put("never", 1));
          throw new AgentPayError("INVALID_INPUT", "bad item");
        });
      } catch {
        // isolated
      }
      tx.nested(() => tx.put("c", 3));
      return [tx.get("a"), tx.get("b"), tx.get("c")];
    });
    expect(n).to.deep.equal([1, undefined, 3]);
    expect([engine.read("a"), engine.read("b"), engine.read("c")]).to.deep.equal([1, undefined, 3]);
  });
});

describe("engine: observers", () => {
  it("each observer sees exactly the keys under its prefix, whatever the prefix's shape", async () => {
    const engine = Engine.create({ store: new MemoryStore(), clock: new ManualClock() });
    const seen: Record<string, string[]> = { "pm/": [], "pm/a": [], "p": [], "": [], "x/y/": [] };
    for (const prefix of Object.keys(seen)) engine.observe(prefix, (key) => seen[prefix]!.push(key));
    await engine.load();
    await engine.submit((tx) => {
      for (const k of ["pm/a1", "pm/b", "p", "px/1", "x/y/z", "x/z", "solo"]) tx.put(k, 1);
    });
    // An observer registered after writes began is consulted too.
    const late: string[] = [];
    engine.observe("x/", (key) => late.push(key));
    await engine.submit((tx) => tx.put("x/late", 1));
    expect(seen["pm/"]).to.deep.equal(["pm/a1", "pm/b"]);
    expect(seen["pm/a"]).to.deep.equal(["pm/a1"]);
    expect(seen["p"]).to.deep.equal(["pm/a1", "pm/b", "p", "px/1"]);
    expect(seen[""]).to.deep.equal(["pm/a1", "pm/b", "p", "px/1", "x/y/z", "x/z", "solo", "x/late"]);
    expect(seen["x/y/"]).to.deep.equal(["x/y/z"]);
    expect(late).to.deep.equal(["x/late"]);
  });
});

describe("engine: durable observers", () => {
  it("see a batch's writes only once it is durable, never a failed command's, never at load", async () => {
    const store = new MemoryStore();
    const engine = Engine.create({ store });
    const seen: string[] = [];
    engine.observeDurable("x/", (k, _b, a) => seen.push(`${k}=${String(a)}`));
    await engine.load();
    const p = engine.submit((tx) => tx.put("x/1", "a"));
    expect(seen).to.deep.equal([]);
    await p;
    expect(seen).to.deep.equal(["x/1=a"]);
    await engine.submit((tx) => { tx.put("x/2", "b"); throw new Error("no"); }).catch(() => {});
    await engine.submit((tx) => tx.del("x/1"));
    expect(seen).to.deep.equal(["x/1=a", "x/1=undefined"]);
    await engine.close();
    const again = Engine.create({ store });
    const reloaded: string[] = [];
    again.observeDurable("x/", (k) => reloaded.push(k));
    await again.load();
    expect(reloaded).to.deep.equal([]);
    await again.close();
  });
});
