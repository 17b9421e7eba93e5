import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

describe("npm run demo:mcp", function () {
  this.timeout(180_000);
  it("an MCP client drives the agent through budget → pay → approval → token → redemption, every step as told", () => {
    const r = spawnSync(process.execPath, [fileURLToPath(new URL("../../scripts/demo-mcp.ts", import.meta.url))], { encoding: "utf8", timeout: 170_000 });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.contain("every step behaved as told");
    expect(r.stdout).to.not.contain("✗");
  });
});
