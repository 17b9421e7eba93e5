import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AgentPay } from "../../src/index.ts";
import { runUntilKilled } from "../helpers/crash.ts";
import { storeOf, targets } from "../helpers/targets.ts";

const CHILD = fileURLToPath(new URL("./crash-child.ts", import.meta.url));

async function runAndKill(dir: string, runId: string, killAfterMs: number): Promise<string[]> {
  const acks: string[] = [];
  await runUntilKilled(CHILD, [dir, runId], killAfterMs, (w) => {
    if (w[0] === "ack") acks.push(w[1]!);
  });
  return acks;
}

for (const target of targets) describe(`ledger crash safety (SIGKILL mid-load), ${target.name}`, function () {
  this.timeout(240_000);

  it("after each of 20 kills: invariants hold, every acknowledged transfer is there, none half-applied", async () => {
    const root = mkdtempSync(join(tmpdir(), "agentpay-crash-"));
    const dir = target.create(root);
    const allAcked: string[] = [];
    try {
      for (let run = 0; run < 20; run++) {
        const killAfterMs = 20 + Math.floor(Math.random() * 400);
        const acks = await runAndKill(dir, `r${run}`, killAfterMs);
        allAcked.push(...acks);
        const pay = await AgentPay.open(storeOf(dir));
        try {
          const report = pay.ledger.check();
          expect(report.problems, `run ${run}`).to.deep.equal([]);
          for (const id of allAcked) expect(pay.ledger.getTransfer(id), `acknowledged ${id} missing after run ${run}`).to.not.equal(undefined);
          // A post is never present without its hold being resolved by it (no half-applied pair).
          for (const [, t] of pay.engine.scan<{ kind: string; pendingId?: string; id: string }>("tr/")) {
            if (t.kind === "post") expect(pay.ledger.getTransfer(t.pendingId!)?.resolvedById).to.equal(t.id);
          }
        } finally {
          await pay.close();
        }
      }
      expect(allAcked.length).to.be.greaterThan(100);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
