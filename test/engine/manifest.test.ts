import { expect } from "chai";
import { mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentPayError } from "../../src/core/index.ts";
import { LogStore } from "../../src/engine/index.ts";
import type { Store, StoreOp } from "../../src/engine/index.ts";
import { AgentPay, amount } from "../../src/index.ts";

// What the directory holds is named by its manifest (agentpay.manifest): the snapshot and every log
// after it. Open refuses a directory that holds less, naming the file, instead of loading part of it.

const put = (key: string, value: string): StoreOp => ({ type: "put", key, value });
const logs = (dir: string) => readdirSync(dir).filter((n) => /^log-\d+\.apl$/.test(n)).sort();
const snaps = (dir: string) => readdirSync(dir).filter((n) => /^snap-\d+\.aps$/.test(n)).sort();

async function all(store: Store): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const [k, v] of store.entries()) out.set(k, v);
  return out;
}

async function reopen(dir: string): Promise<Map<string, string>> {
  const s = new LogStore(dir);
  await s.open();
  try {
    return await all(s);
  } finally {
    await s.close();
  }
}

async function refusal(dir: string): Promise<AgentPayError> {
  const err = await new LogStore(dir).open().catch((e: unknown) => e);
  expect(err, "open must refuse").to.be.instanceOf(AgentPayError);
  return err as AgentPayError;
}

/** Every file's bytes, to show a refused open changed nothing. */
function contents(dir: string): Map<string, string> {
  return new Map(readdirSync(dir).filter((n) => !n.startsWith("agentpay-")).map((n) => [n, readFileSync(join(dir, n)).toString("base64")]));
}

describe("LogStore manifest: a directory says what it holds, and open refuses less", function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "agentpay-manifest-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Enough writes that a snapshot and several logs after it exist. */
  async function compacted(): Promise<number> {
    const s = new LogStore(dir, { compactMinBytes: 2048 });
    await s.open();
    for (let i = 0; i < 120; i++) await s.write([put(`k/${String(i).padStart(4, "0")}`, "v".repeat(80))]);
    await s.close();
    expect(snaps(dir)).to.have.length(1);
    return 120;
  }

  /** Logs without a snapshot: every compaction fails (directories sit where snapshots would go), so logs pile up. */
  async function piledUp(n: number): Promise<number> {
    const blockers = Array.from({ length: 40 }, (_, i) => join(dir, `snap-${String(i + 2).padStart(10, "0")}.aps`));
    const s = new LogStore(dir, { compactMinBytes: 512 });
    await s.open();
    for (const b of blockers) mkdirSync(b);
    let i = 0;
    for (; logs(dir).length < n; i++) {
      expect(i, "logs pile up").to.be.below(1_000);
      await s.write([put(`k/${String(i).padStart(4, "0")}`, "v".repeat(100))]);
      await new Promise((r) => setTimeout(r, 2));
    }
    await s.close();
    for (const b of blockers) rmdirSync(b);
    expect(snaps(dir)).to.deep.equal([]);
    return i;
  }

  it("the reported case: AgentPay with its snapshot deleted is refused (STORE_FILE_MISSING, the snapshot named), not opened with part of the state", async () => {
    const store = new LogStore(dir, { compactMinBytes: 4096 });
    const pay = await AgentPay.open({ store, delivery: false, background: false });
    const w = await pay.wallets.create({ ownerId: "alice", currency: "USD", timeZone: "UTC" });
    for (let i = 0; i < 60; i++) await pay.wallets.deposit(w.id, amount("1.00", "USD"), { idempotencyKey: `d${i}` });
    await pay.close();
    const snap = snaps(dir)[0]!;
    expect(snap).to.be.a("string");
    unlinkSync(join(dir, snap));
    const before = contents(dir);
    const err = await AgentPay.open({ dir, delivery: false, background: false }).catch((e: unknown) => e) as AgentPayError;
    expect(err).to.be.instanceOf(AgentPayError);
    expect(err.code).to.equal("STORE_FILE_MISSING");
    expect(err.details.file).to.equal(snap);
    expect(err.message).to.contain(snap);
    expect(contents(dir)).to.deep.equal(before);
  });

  it("the first log deleted while no snapshot exists (a compaction failed) is refused, naming it", async () => {
    await piledUp(2);
    unlinkSync(join(dir, "log-0000000001.apl"));
    const err = await refusal(dir);
    expect(err.code).to.equal("STORE_FILE_MISSING");
    expect(err.details.file).to.equal("log-0000000001.apl");
  });

  it("the first log of a directory that never compacted, deleted: refused", async () => {
    const s = new LogStore(dir);
    await s.open();
    for (let i = 0; i < 5; i++) await s.write([put(`k/${i}`, "v")]);
    await s.close();
    expect(logs(dir)).to.deep.equal(["log-0000000001.apl"]);
    unlinkSync(join(dir, "log-0000000001.apl"));
    const err = await refusal(dir);
    expect(err.code).to.equal("STORE_FILE_MISSING");
    expect(err.details.file).to.equal("log-0000000001.apl");
  });

  it("any log the manifest names, deleted (oldest, middle or newest), is refused, naming it", async () => {
    const written = await piledUp(3);
    const names = logs(dir);
    for (const victim of [names[0]!, names[Math.floor(names.length / 2)]!, names.at(-1)!]) {
      const saved = readFileSync(join(dir, victim));
      unlinkSync(join(dir, victim));
      const err = await refusal(dir);
      expect(err.code, victim).to.equal("STORE_FILE_MISSING");
      expect(err.details.file).to.equal(victim);
      writeFileSync(join(dir, victim), saved);
    }
    expect((await reopen(dir)).size).to.equal(written);
  });

  it("the manifest deleted from a directory with data is refused, naming the manifest", async () => {
    await compacted();
    unlinkSync(join(dir, "agentpay.manifest"));
    const err = await refusal(dir);
    expect(err.code).to.equal("STORE_FILE_MISSING");
    expect(err.details.file).to.equal("agentpay.manifest");
    // ... also when only logs without any frame remain besides a deleted snapshot
    unlinkSync(join(dir, snaps(dir)[0]!));
    for (const l of logs(dir)) writeFileSync(join(dir, l), "agentpay log v1\n");
    expect((await refusal(dir)).code).to.equal("STORE_FILE_MISSING");
  });

  it("a snapshot cut back to whole frames (fewer records, every checksum right) is refused as damaged", async () => {
    await compacted();
    const snap = join(dir, snaps(dir)[0]!);
    expect(statSync(snap).size).to.be.above(16);
    truncateSync(snap, 16); // the magic line only: no frame left, nothing that fails a checksum
    const err = await refusal(dir);
    expect(err.code).to.equal("STORE_FAILURE");
    expect(err.details.file).to.equal(snaps(dir)[0]);
    expect(err.message).to.match(/damaged|size/);
  });

  it("a closed log cut back to a frame boundary is refused; only the newest log may lose a torn tail", async () => {
    await piledUp(2);
    const names = logs(dir);
    const closed = join(dir, names[0]!);
    const bytes = readFileSync(closed);
    expect(bytes.length).to.be.above(16);
    truncateSync(closed, 16); // magic only: every frame gone, and what remains reads back whole
    const err = await refusal(dir);
    expect(err.code).to.equal("STORE_FAILURE");
    expect(err.details.file).to.equal(names[0]);
  });

  it("a damaged manifest is refused, and left as it was", async () => {
    await compacted();
    const m = join(dir, "agentpay.manifest");
    const bytes = readFileSync(m);
    bytes[30] = bytes[30]! ^ 0x04;
    writeFileSync(m, bytes);
    const err = await refusal(dir);
    expect(err.code).to.equal("STORE_FAILURE");
    expect(err.details.file).to.equal("agentpay.manifest");
    expect(readFileSync(m).equals(bytes)).to.equal(true);
  });

  it("crash leftovers the manifest does not name are removed: a first log whose manifest was never written, a newer empty log, a newer snapshot", async () => {
    // A crash while creating the directory: log 1 exists (magic only), no manifest yet.
    writeFileSync(join(dir, "log-0000000001.apl"), "agentpay log v1\n");
    expect((await reopen(dir)).size).to.equal(0);
    expect(statSync(join(dir, "agentpay.manifest")).isFile()).to.equal(true);
    await rm(dir, { recursive: true, force: true });
    await compacted();
    const gen = Number(/\d+/.exec(logs(dir).at(-1)!)![0]);
    // A rotation's new log, created before its manifest was written; a compaction's snapshot, renamed
    // into place before its manifest was written.
    const newerLog = `log-${String(gen + 1).padStart(10, "0")}.apl`;
    writeFileSync(join(dir, newerLog), "agentpay log v1\n");
    const newerSnap = `snap-${String(gen).padStart(10, "0")}.aps`;
    if (!snaps(dir).includes(newerSnap)) writeFileSync(join(dir, newerSnap), readFileSync(join(dir, snaps(dir)[0]!)));
    const back = await reopen(dir);
    expect(back.size).to.equal(120);
    expect(logs(dir)).to.not.include(newerLog);
    expect(snaps(dir)).to.have.length(1);
  });
});
