import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AgentPay } from "../../src/index.ts";
import type { Payment } from "../../src/index.ts";
import { runUntilKilled } from "../helpers/crash.ts";
import { storeOf, targets } from "../helpers/targets.ts";

const CHILD = fileURLToPath(new URL("./crash-child.ts", import.meta.url));

async function runAndKill(target: string, runId: string, setupFile: string, killAfterMs: number): Promise<Map<string, string>> {
  const acks = new Map<string, string>();
  await runUntilKilled(CHILD, [target, runId, setupFile], killAfterMs, (w) => {
    if (w[0] === "ack") acks.set(w[1]!, w[2]!);
  });
  return acks;
}

for (const target of targets) describe(`payments crash safety (SIGKILL mid-load), ${target.name}`, function () {
  this.timeout(240_000);

  it("after each of 10 kills: ledger invariants hold, every acknowledged payment is there, tokens and holds agree", async () => {
    const root = mkdtempSync(join(tmpdir(), "agentpay-paycrash-"));
    const dir = target.create(root);
    const acked = new Map<string, string>();
    try {
      for (let run = 0; run < 10; run++) {
        for (const [id, s] of await runAndKill(dir, `r${run}`, join(root, "setup.json"), 50 + Math.floor(Math.random() * 500))) {
          if (acked.get(id) !== "captured") acked.set(id, s);
        }
        const pay = await AgentPay.open({ ...storeOf(dir), delivery: false, background: false, risk: "off" });
        try {
          expect(pay.ledger.check().problems, `run ${run}`).to.deep.equal([]);
          for (const [id, status] of acked) {
            const p = pay.payments.get(id);
            if (status === "captured") expect(p.status, id).to.equal("captured");
            else expect(["authorized", "captured"], id).to.include(p.status);
          }
          // No half-applied payment: every payment's hold, issued token and capture agree (the token's
          // single-use state is the payment's status).
          for (const [, p] of pay.engine.scan<Payment>("pm/")) {
            if (p.status === "authorized") {
              expect(pay.ledger.getTransfer(p.holdTransferId!)?.state).to.equal("pending");
              expect(pay.engine.read<string>(`tt/${p.tokenId}`)).to.be.a("string");
            }
            if (p.status === "captured") {
              expect(pay.ledger.getTransfer(p.holdTransferId!)?.state).to.equal("posted");
              expect(pay.ledger.getTransfer(p.captureTransferId!)?.amountMinor).to.equal(p.capturedMinor);
              expect(pay.engine.read<string>(`tt/${p.tokenId}`)).to.be.a("string");
            }
          }
        } finally {
          await pay.close();
        }
      }
      expect([...acked.values()].filter((s) => s === "captured").length).to.be.greaterThan(20);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
