import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AgentPayError, ManualClock } from "../../src/core/index.ts";
import { Engine, MemoryStore } from "../../src/engine/index.ts";
import { AgentPay, amount } from "../../src/index.ts";

const CHILD = fileURLToPath(new URL("./fault-child.ts", import.meta.url));

interface Report {
  wallet: string;
  acked: string[];
  failed: { failed: string; code: string; message: string; details: Record<string, unknown> };
  afterFailure: Record<string, unknown>;
  nextWrite: unknown;
}

/** Runs the child with the disk refusing to grow any file past `bytes` (RLIMIT_FSIZE: EFBIG). */
function runLimited(dir: string, storage: "log" | "level", bytes: number): Report {
  const r = spawnSync("prlimit", [`--fsize=${bytes}`, process.execPath, CHILD, dir, storage], { encoding: "utf8", timeout: 60_000 });
  if (r.error) throw new Error(`this test needs prlimit (util-linux) to make the disk refuse a write: ${r.error.message}`);
  const lines = r.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  const pick = (k: string) => lines.find((l) => k in l);
  if (!pick("done") || !pick("failed")) throw new Error(`child did not finish: ${r.stdout.slice(-2000)} ${r.stderr.slice(-2000)}`);
  return {
    wallet: pick("wallet")!.wallet as string,
    acked: lines.filter((l) => "acked" in l).map((l) => l.acked as string),
    failed: pick("failed") as Report["failed"],
    afterFailure: pick("afterFailure")!.afterFailure as Record<string, unknown>,
    nextWrite: pick("nextWrite")!.nextWrite,
  };
}

describe("after a store failure: nothing a caller was told failed is visible, and the error says why", function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "agentpay-fault-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const storage of ["log", "level"] as const) {
    it(`storage "${storage}", the disk refusing a write (EFBIG): STORE_FAILURE with the cause; reads fail-stop until reopened; the retry with the same key settles it`, async () => {
      const report = runLimited(dir, storage, 48 * 1024);
      expect(report.acked.length).to.be.above(3);
      const { failed } = report;
      expect(failed.code).to.equal("STORE_FAILURE");
      // The cause is kept: what the disk said, not just "STORE_FAILURE".
      expect(JSON.stringify(failed.details)).to.match(/EFBIG|too large/i);
      expect(failed.details.outcome).to.equal("unknown");
      // The deposit the caller was told failed is not visible, nor anything else: the engine stopped.
      expect(report.afterFailure).to.deep.equal({
        getTransfer: { threw: "STORE_FAILURE" }, balance: { threw: "STORE_FAILURE" }, wallet: { threw: "STORE_FAILURE" },
      });
      expect((report.nextWrite as { code: string }).code).to.equal("STORE_FAILURE");

      // Reopened without the limit: every acknowledged deposit is there; the failed one may or may not
      // be (its write may have reached the disk), and retrying it with the same key makes it exactly once.
      const pay = await AgentPay.open({ dir, storage, delivery: false, background: false });
      try {
        const before = pay.wallets.balance(report.wallet).postedMinor;
        expect(before === BigInt(report.acked.length) * 100n || before === BigInt(report.acked.length + 1) * 100n, `balance ${before}`).to.equal(true);
        await pay.wallets.deposit(report.wallet, amount("1.00", "USD"), { idempotencyKey: failed.failed });
        await pay.wallets.deposit(report.wallet, amount("1.00", "USD"), { idempotencyKey: failed.failed });
        expect(pay.wallets.balance(report.wallet).postedMinor).to.equal(BigInt(report.acked.length + 1) * 100n);
        expect(pay.ledger.check().ok).to.equal(true);
      } finally {
        await pay.close();
      }
    });
  }

  it("the engine, on a failing store: the failed batch's callers hear outcome unknown, later ones not_written; reads refuse until reopened", async () => {
    const store = new MemoryStore();
    const engine = Engine.create({ store, clock: new ManualClock() });
    await engine.load();
    await engine.submit((tx) => tx.put("a", 1));
    store.failNextWrite = true;
    const failed = await engine.submit((tx) => tx.put("b", 2)).catch((e: unknown) => e) as AgentPayError;
    expect(failed.code).to.equal("STORE_FAILURE");
    expect(failed.details.outcome).to.equal("unknown");
    expect(failed.details.reason).to.match(/simulated write failure/);
    const later = await engine.submit((tx) => tx.put("c", 3)).catch((e: unknown) => e) as AgentPayError;
    expect(later.code).to.equal("STORE_FAILURE");
    expect(later.details.outcome).to.equal("not_written");
    for (const read of [() => engine.read("b"), () => engine.read("a"), () => [...engine.scan("")]]) {
      expect(read).to.throw(AgentPayError).with.property("code", "STORE_FAILURE");
    }
    await engine.close();
    const again = Engine.create({ store, clock: new ManualClock() });
    await again.load();
    expect(again.read("a")).to.equal(1);
    expect(again.read("b")).to.equal(undefined);
    await again.close();
  });
});
