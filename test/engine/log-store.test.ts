import { expect } from "chai";
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AgentPayError } from "../../src/core/index.ts";
import { LevelStore, LogStore } from "../../src/engine/index.ts";
import type { Store, StoreOp } from "../../src/engine/index.ts";
import { AgentPay } from "../../src/index.ts";
import { runUntilKilled } from "../helpers/crash.ts";

async function all(store: Store): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const [k, v] of store.entries()) out.set(k, v);
  return out;
}

async function reopen(dir: string, opts = {}): Promise<Map<string, string>> {
  const s = new LogStore(dir, opts);
  await s.open();
  try {
    return await all(s);
  } finally {
    await s.close();
  }
}

const put = (key: string, value: string): StoreOp => ({ type: "put", key, value });
const logs = (dir: string) => readdirSync(dir).filter((n) => n.startsWith("log-")).sort();
const snaps = (dir: string) => readdirSync(dir).filter((n) => n.startsWith("snap-")).sort();

async function openError(dir: string): Promise<AgentPayError> {
  const s = new LogStore(dir);
  const err = await s.open().catch((e: unknown) => e);
  expect(err).to.be.instanceOf(AgentPayError);
  expect((err as AgentPayError).code).to.equal("STORE_FAILURE");
  return err as AgentPayError;
}

describe("LogStore: crash recovery, damage and compaction", function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "agentpay-logstore-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function twoBatches(): Promise<string> {
    const s = new LogStore(dir);
    await s.open();
    await s.write([put("a", "1")]);
    await s.write([put("b", "2"), put("c", "3")]);
    await s.close();
    return join(dir, logs(dir).at(-1)!);
  }

  it("a write cut off by a crash is discarded at open, and later writes follow the whole ones", async () => {
    const log = await twoBatches();
    const head = Buffer.alloc(8);
    head.writeUInt32LE(500, 0); // a frame claiming 500 bytes, of which 20 reached the disk
    appendFileSync(log, Buffer.concat([head, Buffer.alloc(20, 7)]));
    const s = new LogStore(dir);
    await s.open();
    expect([...(await all(s)).keys()]).to.deep.equal(["a", "b", "c"]);
    await s.write([put("d", "4")]);
    await s.close();
    expect(await reopen(dir)).to.deep.equal(new Map([["a", "1"], ["b", "2"], ["c", "3"], ["d", "4"]]));
  });

  it("a zero-filled tail (blocks allocated, never written) is discarded too", async () => {
    const log = await twoBatches();
    appendFileSync(log, Buffer.alloc(4096));
    expect([...(await reopen(dir)).keys()]).to.deep.equal(["a", "b", "c"]);
  });

  it("damage before the tail is refused with STORE_FAILURE and the files are left as they were", async () => {
    const log = await twoBatches();
    const bytes = readFileSync(log);
    bytes[29] = bytes[29]! ^ 0xff; // inside the first frame's payload; the second frame follows
    writeFileSync(log, bytes);
    const err = await openError(dir);
    expect(err.message).to.match(/damaged/);
    expect(readFileSync(log).equals(bytes)).to.equal(true);
    // A file that is not ours (wrong first line) is refused as well.
    writeFileSync(log, Buffer.from("something else entirely\n"));
    await openError(dir);
  });

  it("compacts into a snapshot on its own thread; reopen reads the snapshot plus the newer logs", async () => {
    const model = new Map<string, string>();
    const s = new LogStore(dir, { compactMinBytes: 4096 });
    await s.open();
    for (let i = 0; i < 400; i++) {
      const ops: StoreOp[] = [put(`k/${i % 60}`, `{"i":${i},"pad":"${"p".repeat(i % 90)}"}`), put(`n/${i}`, "x")];
      if (i % 5 === 0 && i > 0) ops.push({ type: "del", key: `n/${i - 1}` });
      await s.write(ops);
      for (const op of ops) {
        if (op.type === "put") model.set(op.key, op.value);
        else model.delete(op.key);
      }
    }
    await s.close(); // waits for a compaction under way
    expect(snaps(dir)).to.have.length(1);
    const snapGen = Number(/\d+/.exec(snaps(dir)[0]!)![0]);
    expect(snapGen).to.be.greaterThan(1);
    // Only the logs the snapshot does not cover are kept.
    for (const l of logs(dir)) expect(Number(/\d+/.exec(l)![0])).to.be.at.least(snapGen);
    expect(await reopen(dir, { compactMinBytes: 4096 })).to.deep.equal(model);
  });

  it("leftovers of a crash during compaction (a .tmp snapshot, logs an older snapshot covers) are ignored and removed", async () => {
    const s = new LogStore(dir, { compactMinBytes: 1024 });
    await s.open();
    for (let i = 0; i < 50; i++) await s.write([put(`k/${i}`, "v".repeat(100))]);
    await s.close();
    const snapGen = Number(/\d+/.exec(snaps(dir)[0]!)![0]);
    writeFileSync(join(dir, `snap-${String(snapGen + 1).padStart(10, "0")}.aps.tmp`), "half a snapshot");
    writeFileSync(join(dir, `log-${String(snapGen - 1).padStart(10, "0")}.apl`), "an old log, already folded in (and damaged)");
    const back = await reopen(dir);
    expect(back.size).to.equal(50);
    expect(readdirSync(dir).filter((n) => n.endsWith(".tmp"))).to.deep.equal([]);
    expect(logs(dir).map((l) => Number(/\d+/.exec(l)![0]))).to.satisfy((gens: number[]) => gens.every((g) => g >= snapGen));
  });

  it("files a snapshot covers, cut part way by a crash while they were being removed, are ignored and removed at open", async () => {
    const s = new LogStore(dir, { compactMinBytes: 1024 });
    await s.open();
    for (let i = 0; i < 80; i++) await s.write([put(`k/${i}`, "v".repeat(100))]);
    await s.close();
    const snapGen = Number(/\d+/.exec(snaps(dir)[0]!)![0]);
    expect(snapGen).to.be.greaterThan(1);
    // What a crash midway through removing them leaves: an older snapshot and an older log, each cut
    // anywhere (removal shortens a file step by step before unlinking it).
    const snapBytes = readFileSync(join(dir, snaps(dir)[0]!));
    writeFileSync(join(dir, `snap-${String(snapGen - 1).padStart(10, "0")}.aps`), snapBytes.subarray(0, Math.floor(snapBytes.length / 3)));
    const logBytes = readFileSync(join(dir, logs(dir)[0]!));
    writeFileSync(join(dir, `log-${String(snapGen - 1).padStart(10, "0")}.apl`), logBytes.subarray(0, 21));
    const back = await reopen(dir);
    expect(back.size).to.equal(80);
    expect(snaps(dir)).to.have.length(1);
    expect(logs(dir).map((l) => Number(/\d+/.exec(l)![0]))).to.satisfy((gens: number[]) => gens.every((g) => g >= snapGen));
  });

  it("a compaction that fails leaves no partial snapshot and loses nothing; the next one folds in every log", async () => {
    // A directory where the first snapshot would be renamed to: that rename fails.
    const blocker = join(dir, "snap-0000000002.aps");
    const model = new Map<string, string>();
    const s = new LogStore(dir, { compactMinBytes: 2048 });
    await s.open();
    mkdirSync(blocker);
    // Writes go on until a later compaction has succeeded (a snapshot past the blocked one).
    // (a finished snapshot only: the blocked compaction's own .tmp also starts with "snap-")
    const done = () => snaps(dir).some((n) => n.endsWith(".aps") && n !== "snap-0000000002.aps");
    const deadline = Date.now() + 20_000;
    for (let i = 0; !done(); i++) {
      expect(Date.now(), "a later compaction succeeds").to.be.below(deadline);
      await s.write([put(`k/${i % 40}`, `${i}-${"v".repeat(60)}`)]);
      model.set(`k/${i % 40}`, `${i}-${"v".repeat(60)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    await s.close();
    rmdirSync(blocker);
    expect(readdirSync(dir).filter((n) => n.endsWith(".tmp"))).to.deep.equal([]);
    // A later compaction succeeded: the logs of the failed one are folded into its snapshot.
    expect(snaps(dir)).to.have.length(1);
    expect(Number(/\d+/.exec(snaps(dir)[0]!)![0])).to.be.greaterThan(2);
    expect(logs(dir).map((l) => Number(/\d+/.exec(l)![0]))).to.not.include(1);
    expect(await reopen(dir)).to.deep.equal(model);
  });

  it("a flipped bit in an early frame's length is damage, not a torn tail: refused, nothing cut", async () => {
    const s = new LogStore(dir);
    await s.open();
    for (let i = 0; i < 20; i++) await s.write([put(`k/${i}`, "v".repeat(50))]);
    await s.close();
    const log = join(dir, logs(dir).at(-1)!);
    const bytes = readFileSync(log);
    const third = 16 + 2 * (8 + (bytes.readUInt32LE(16)));
    bytes[third + 2] = bytes[third + 2]! ^ 0x01; // the frame now claims to run past the end of the file
    writeFileSync(log, bytes);
    await openError(dir);
    expect(readFileSync(log).equals(bytes)).to.equal(true);
  });

  it("a tail of zeros then stray bytes (a crash mid-sync) is torn, not damage: opened, tail cut", async () => {
    const log = await twoBatches();
    appendFileSync(log, Buffer.concat([Buffer.alloc(4096), Buffer.from("x".repeat(300))]));
    expect([...(await reopen(dir)).keys()]).to.deep.equal(["a", "b", "c"]);
  });

  it("a newest log cut inside its first line is started again (no write in it was acknowledged)", async () => {
    const s = new LogStore(dir, { compactMinBytes: 1024 });
    await s.open();
    for (let i = 0; i < 60; i++) await s.write([put(`k/${i}`, "v".repeat(100))]);
    await s.close();
    const newest = join(dir, logs(dir).at(-1)!);
    writeFileSync(newest, "agentpay l"); // cut inside the magic line: no write in it was acknowledged
    expect((await reopen(dir)).size).to.be.greaterThan(0);
    expect(readFileSync(newest, "utf8")).to.equal("agentpay log v1\n");
  });

  it("a LevelDB directory is refused with a pointer to LevelStore; AgentPay opens it with storage: \"level\"", async () => {
    const level = new LevelStore(dir);
    await level.open();
    await level.write([put("a", "1")]);
    await level.close();
    expect((await openError(dir)).message).to.match(/LevelStore/);
    const pay = await AgentPay.open({ dir, storage: "level", delivery: false, background: false });
    await pay.close();
    for (const bad of [{ memory: true, storage: "log" }, { dir, storage: "rocks" }]) {
      const err = await AgentPay.open(bad as never).catch((e: unknown) => e);
      expect((err as AgentPayError).code).to.equal("INVALID_INPUT");
    }
    expect(() => new LogStore(dir, { compactMinBytes: 0 })).to.throw(AgentPayError);
  });

  it("SIGKILL at random moments, compacting all the time: every acknowledged batch is there, whole, after each of 8 kills", async () => {
    const child = fileURLToPath(new URL("./log-crash-child.ts", import.meta.url));
    let acked = -1;
    let next = 0;
    for (let run = 0; run < 8; run++) {
      await runUntilKilled(child, [dir, String(next)], 100 + Math.floor(Math.random() * 400), (w) => {
        if (w[0] === "ack") acked = Math.max(acked, Number(w[1]));
      });
      const back = await reopen(dir);
      const last = Number(back.get("last") ?? -1);
      expect(last, `run ${run}`).to.be.at.least(acked);
      for (let n = 0; n <= last; n++) {
        const id = String(n).padStart(8, "0");
        expect(back.get(`b/${id}/1`), `batch ${n}`).to.be.a("string");
        // Batch n's delete of n-1's second key lands with batch n, never without it.
        const deleted = (n + 1) % 7 === 0 && n + 1 <= last;
        expect(back.has(`b/${id}/2`), `batch ${n} key 2`).to.equal(!deleted);
      }
      expect(back.has(`b/${String(last + 1).padStart(8, "0")}/1`)).to.equal(false);
      next = last + 1;
    }
    expect(acked).to.be.greaterThan(50);
    expect(snaps(dir).length).to.be.at.most(1);
  });
});
