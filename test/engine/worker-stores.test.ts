import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentPayError, ManualClock } from "../../src/core/index.ts";
import { Engine, LevelStore, LogStore } from "../../src/engine/index.ts";
import type { Store, StoreOp } from "../../src/engine/index.ts";
import { packOps } from "../../src/engine/packed-ops.ts";

async function all(store: Store): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  for await (const e of store.entries()) out.push(e);
  return out;
}

// The Store contract, for both disk stores (each runs its disk work on a worker thread).
const kinds: Array<[string, new (dir: string) => Store]> = [["LevelStore (LevelDB)", LevelStore], ["LogStore (append-only log)", LogStore]];

for (const [name, Kind] of kinds) describe(name, () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "agentpay-store-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes atomically and reads back in key order after reopen, across many load chunks", async () => {
    const store = new Kind(dir);
    await store.open();
    const ops: StoreOp[] = [];
    for (let i = 0; i < 10_000; i++) ops.push({ type: "put", key: `k/${String(i).padStart(5, "0")}`, value: `{"i":${i}}` });
    await store.write(ops);
    // Keys and values that look like the wire format's markers, and non-ASCII text, survive.
    await store.write([
      { type: "put", key: "p", value: "d" },
      { type: "put", key: "d", value: "p" },
      { type: "put", key: "u/é€😀", value: "\"naïve ☃ 😀\"" },
      { type: "put", key: "empty", value: "" },
      { type: "del", key: "k/00001" },
    ]);
    await store.close();

    const again = new Kind(dir);
    await again.open();
    const entries = await all(again);
    await again.close();
    expect(entries.length).to.equal(10_000 - 1 + 4);
    const keys = entries.map(([k]) => k);
    expect(keys).to.deep.equal([...keys].sort());
    const map = new Map(entries);
    expect(map.get("k/00000")).to.equal('{"i":0}');
    expect(map.has("k/00001")).to.equal(false);
    expect(map.get("k/09999")).to.equal('{"i":9999}');
    expect(map.get("p")).to.equal("d");
    expect(map.get("d")).to.equal("p");
    expect(map.get("u/é€😀")).to.equal("\"naïve ☃ 😀\"");
    expect(map.get("empty")).to.equal("");
  });

  it("a second store on a directory in use fails to open with STORE_LOCKED", async () => {
    const first = new Kind(dir);
    await first.open();
    const second = new Kind(dir);
    const err = await second.open().catch((e: unknown) => e);
    expect(err).to.be.instanceOf(AgentPayError);
    expect((err as AgentPayError).code).to.equal("STORE_LOCKED");
    await first.close();
  });

  it("refuses writes once closed; close is idempotent", async () => {
    const store = new Kind(dir);
    await store.open();
    await store.close();
    await store.close();
    const err = await store.write([{ type: "put", key: "a", value: "1" }]).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(Error);
  });

  it("a write that fails before reaching the disk refuses every later one until reopened (the disk stays a prefix)", async () => {
    const store = new Kind(dir);
    await store.open();
    await store.write([{ type: "put", key: "a", value: "1" }]);
    // Not a string key: packing fails on the engine's thread, before the worker sees anything.
    const bad = await store.write([{ type: "put", key: undefined as never, value: "x" }]).catch((e: unknown) => e);
    expect(bad).to.be.instanceOf(Error);
    const later = await store.write([{ type: "put", key: "b", value: "2" }]).catch((e: unknown) => e);
    expect(later).to.be.instanceOf(Error);
    await store.close();
    const again = new Kind(dir);
    await again.open();
    expect(await all(again)).to.deep.equal([["a", "1"]]);
    await again.write([{ type: "put", key: "c", value: "3" }]); // reopened: writes go through again
    await again.close();
  });

  it("a packed write that cannot be sent to the worker fails and refuses later writes; the disk keeps the earlier ones", async () => {
    const store = new Kind(dir);
    await store.open();
    await store.writePacked!(packOps([{ type: "put", key: "a", value: "1" }]));
    const gone = packOps([{ type: "put", key: "b", value: "2" }]);
    structuredClone(gone, { transfer: [gone] }); // detached: postMessage refuses it
    expect(await store.writePacked!(gone).catch((e: unknown) => e)).to.be.instanceOf(Error);
    expect(await store.write([{ type: "put", key: "c", value: "3" }]).catch((e: unknown) => e)).to.be.instanceOf(Error);
    await store.close();
    const again = new Kind(dir);
    await again.open();
    expect(await all(again)).to.deep.equal([["a", "1"]]);
    await again.close();
  });

  it("a scan abandoned halfway does not leave the next scan starting in the middle", async () => {
    const store = new Kind(dir);
    await store.open();
    await store.write(Array.from({ length: 10_000 }, (_, i) => ({ type: "put" as const, key: `k/${String(i).padStart(5, "0")}`, value: "v" })));
    for await (const [k] of store.entries()) if (k === "k/00010") break;
    const keys = (await all(store)).map(([k]) => k);
    expect(keys.length).to.equal(10_000);
    expect(keys[0]).to.equal("k/00000");
    await store.close();
  });

  it("reopening right after close is not disturbed by the old worker's exit", async () => {
    const store = new Kind(dir);
    await store.open();
    await store.write([{ type: "put", key: "a", value: "1" }]);
    await store.close();
    await store.open();
    await store.write([{ type: "put", key: "b", value: "2" }]);
    expect((await all(store)).map(([k]) => k)).to.deep.equal(["a", "b"]);
    await store.close();
  });

  it("drives an engine: acknowledged commands are there after reopen", async () => {
    const clock = new ManualClock();
    const e1 = Engine.create({ store: new Kind(dir), clock });
    await e1.load();
    await Promise.all(Array.from({ length: 500 }, (_, i) => e1.submit((tx) => tx.put(`n/${i}`, { v: BigInt(i) ** 5n }))));
    await e1.close();
    const e2 = Engine.create({ store: new Kind(dir), clock });
    await e2.load();
    expect(e2.read<{ v: bigint }>("n/499")?.v).to.equal(499n ** 5n);
    expect([...e2.scan("n/")].length).to.equal(500);
    await e2.close();
  });
});
