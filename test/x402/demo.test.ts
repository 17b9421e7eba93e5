// npm run demo:402 as a user runs it: three processes on loopback, every step checked by the demo
// itself (it exits non-zero at the first step that does not behave as told).
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

describe("npm run demo:402", function () {
  this.timeout(180_000);
  it("runs the story end to end and exits 0", () => {
    const script = fileURLToPath(new URL("../../scripts/demo-402.ts", import.meta.url));
    const r = spawnSync(process.execPath, [script], { encoding: "utf8", timeout: 170_000 });
    expect(r.status, `${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`).to.equal(0);
    expect(r.stdout).to.include("402 with PAYMENT-REQUIRED");
    expect(r.stdout).to.match(/declined by Alice's daily limit/);
    expect(r.stdout).to.match(/Alice approves apr_/);
    expect(r.stdout).to.match(/payment\.captured pay_\w+: AgentPay-Initiator: agent/);
    expect(r.stdout).to.not.include("✗");
  });
});
