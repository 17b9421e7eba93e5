import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AgentPay } from "../../src/index.ts";

const CHILD = fileURLToPath(new URL("./crash-child.ts", import.meta.url));

/** Runs the child until it has acknowledged some transfers, then SIGKILLs it after a random delay. */
function runAndKill(dir: string, runId: string, killAfterMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, runId], { stdio: ["ignore", "pipe", "pipe"] });
    const acks: string[] = [];
    let buf = "";
    let stderr = "";
    let armed = false;
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith("ack ")) acks.push(line.slice(4));
        if (line === "ready" && !armed) {
          armed = true;
          setTimeout(() => child.kill("SIGKILL"), killAfterMs);
        }
      }
    });
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (_code, signal) => {
      if (signal !== "SIGKILL") reject(new Error(`child exited without being killed: ${stderr}`));
      else resolve(acks);
    });
  });
}

describe("ledger crash safety (SIGKILL mid-load)", function () {
  this.timeout(240_000);

  it("after each of 20 kills: invariants hold, every acknowledged transfer is there, none half-applied", async () => {
    const dir = mkdtempSync(join(tmpdir(), "agentpay-crash-"));
    const allAcked: string[] = [];
    try {
      for (let run = 0; run < 20; run++) {
        const killAfterMs = 20 + Math.floor(Math.random() * 400);
        const acks = await runAndKill(dir, `r${run}`, killAfterMs);
        allAcked.push(...acks);
        const pay = await AgentPay.open({ dir });
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
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
