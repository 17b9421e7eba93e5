import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { pgUrl } from "./helpers.ts";

const INDEX = fileURLToPath(new URL("../../src/index.ts", import.meta.url));

/** Imports the package in a fresh process, optionally opens a PostgreSQL node, and counts the pg modules loaded. */
function pgModulesLoaded(open: boolean): number {
  const script = `
    import { createRequire } from "node:module";
    const req = createRequire(${JSON.stringify(INDEX)});
    const { AgentPay } = await import(${JSON.stringify(INDEX)});
    if (${open}) await (await AgentPay.open({ postgres: process.env.PG_URL, delivery: false, background: false })).close();
    process.stdout.write(String(Object.keys(req.cache).filter((k) => /[\\\\/]node_modules[\\\\/]pg[\\\\/]/.test(k)).length));
  `;
  return Number(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", env: { ...process.env, PG_URL: pgUrl() } }));
}

describe("PostgreSQL driver loading", function () {
  this.timeout(60_000);

  it("importing agentpay loads no SQL driver; opening a PostgreSQL node loads node-postgres", () => {
    expect(pgModulesLoaded(false)).to.equal(0);
    expect(pgModulesLoaded(true)).to.be.greaterThan(0);
  });
});
