// The layering of DESIGN.md, as rules in .dependency-cruiser.cjs: no circles, modules meet only through
// their index.ts, imports go downward, interfaces never reach the engine, and the core import loads no
// viem, server framework, MCP SDK or SQL driver. Run as the CLI runs it (`npx depcruise src`).
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

describe("architecture: the import rules hold", function () {
  this.timeout(120_000);
  it("no violation of .dependency-cruiser.cjs in src/", () => {
    const r = spawnSync(process.execPath, [join(root, "node_modules/dependency-cruiser/bin/dependency-cruise.mjs"), "src", "--config", ".dependency-cruiser.cjs", "--output-type", "json"], {
      cwd: root, encoding: "utf8", maxBuffer: 256 * 1024 * 1024,
    });
    const out = JSON.parse(r.stdout) as { summary: { violations: Array<{ rule: { name: string }; from: string; to: string }>; totalCruised: number } };
    expect(out.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`)).to.deep.equal([]);
    expect(out.summary.totalCruised).to.be.greaterThan(100);
  });
});
