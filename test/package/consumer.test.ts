// The package as a consumer gets it: `npm pack`, then `npm install ./agentpay-x.y.z.tgz` into an empty
// project (no dev dependencies of this repository), and there: a plain JavaScript program runs the
// README's flow on the system Node (20 on these machines) and on Node 24; the README's TypeScript block
// type-checks against the published .d.ts (moduleResolution nodenext) and runs; importing the core loads
// no chain, server, MCP or SQL code; the tarball holds only what a consumer needs.
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { name: string; version: string };

/** Node binaries to test with: this process's (the pinned 24) and the first other one on PATH (the system's). */
function nodes(): string[] {
  const found = [process.execPath];
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const bin = join(dir, "node");
    if (!dir || resolve(dir).startsWith(root) || !existsSync(bin)) continue;
    const version = execFileSync(bin, ["--version"], { encoding: "utf8" }).trim();
    if (version !== process.version) found.push(bin);
    break;
  }
  return found;
}

/** npm's own CLI, run with the given node (so the install happens on that Node version). */
function npm(node: string, args: string[], cwd: string): string {
  const cli = process.env.npm_execpath && process.env.npm_execpath.endsWith(".js") ? process.env.npm_execpath : undefined;
  const env: NodeJS.ProcessEnv = { ...process.env, npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" };
  delete env.npm_config_prefix;
  return cli
    ? execFileSync(node, [cli, ...args], { cwd, encoding: "utf8", env, stdio: ["ignore", "pipe", "pipe"] })
    : execFileSync("npm", args, { cwd, encoding: "utf8", env, stdio: ["ignore", "pipe", "pipe"] });
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

describe("the package, installed as a consumer installs it", function () {
  this.timeout(600_000);
  let work: string;
  let tarball: string;
  const tested = nodes();

  before(() => {
    work = mkdtempSync(join(tmpdir(), "agentpay-consumer-"));
    const out = npm(process.execPath, ["pack", "--json", "--pack-destination", work], root);
    const info = JSON.parse(out.slice(out.indexOf("["))) as Array<{ filename: string; size: number; unpackedSize: number; files: Array<{ path: string }> }>;
    tarball = join(work, info[0]!.filename);
    const files = info[0]!.files.map((f) => f.path);
    console.log(`      packed ${info[0]!.filename}: ${(info[0]!.size / 1024).toFixed(0)} kB, ${(info[0]!.unpackedSize / 1024).toFixed(0)} kB unpacked, ${files.length} files`);
    // Only what a consumer needs: compiled JavaScript and declarations, the contracts, the docs.
    const stray = files.filter((f) => !/^(dist\/.+\.(js|d\.ts|js\.map|json)|contracts\/([^/]+\.sol|README\.md)|README\.md|LICENSE|CHANGELOG\.md|package\.json)$/.test(f));
    expect(stray, "files a consumer does not need").to.deep.equal([]);
    expect(files.filter((f) => /\.ts$/.test(f) && !f.endsWith(".d.ts"))).to.deep.equal([]);
    expect(files.some((f) => /^(test|scripts|src)\//.test(f))).to.equal(false);
    const manifest = JSON.parse(execFileSync("tar", ["-xzOf", tarball, "package/package.json"], { encoding: "utf8" })) as { scripts?: Record<string, string> };
    for (const hook of ["preinstall", "install", "postinstall"]) expect(manifest.scripts?.[hook], `a ${hook} script runs in every consumer's install`).to.equal(undefined);
  });

  after(() => rmSync(work, { recursive: true, force: true }));

  for (const node of tested) {
    const version = execFileSync(node, ["--version"], { encoding: "utf8" }).trim();

    it(`installs into an empty project and runs the README's flow in plain JavaScript (Node ${version})`, () => {
      const app = join(work, `app-${version}`);
      mkdirSync(app);
      writeFileSync(join(app, "package.json"), JSON.stringify({ name: "consumer-app", version: "1.0.0", private: true, type: "module" }));
      // The Node 24 project also gets @types/node: the TypeScript check below runs in it.
      const typesNode = (JSON.parse(readFileSync(join(root, "node_modules/@types/node/package.json"), "utf8")) as { version: string }).version;
      npm(node, ["install", tarball, ...(node === process.execPath ? [`@types/node@${typesNode}`] : [])], app);
      writeFileSync(join(app, "example.mjs"), readFileSync(join(root, "test/package/fixtures/example.mjs")));
      const out = JSON.parse(execFileSync(node, ["example.mjs"], { cwd: app, encoding: "utf8", timeout: 120_000 }).trim().split("\n").pop()!);
      expect(out).to.include({ node: version, cap: "12000", captured: "11850", available: "10000" });
      expect(out.wireBytes).to.be.greaterThan(100);
      // A durable directory on this Node: its lock refuses a second holder, a reopen finds the deposit.
      writeFileSync(join(app, "durable.mjs"), readFileSync(join(root, "test/package/fixtures/durable.mjs")));
      const durable = JSON.parse(execFileSync(node, ["durable.mjs"], { cwd: app, encoding: "utf8", timeout: 120_000 }).trim().split("\n").pop()!);
      expect(durable).to.deep.equal({ second: "STORE_LOCKED", available: { value: "42.50", currency: "EUR" } });
      // The CLI: `npx agentpay --help` lists the commands; `agentpay serve` answers over HTTP.
      const bin = join(app, "node_modules/.bin/agentpay");
      const help = execFileSync(node, [bin, "--help"], { cwd: app, encoding: "utf8" });
      for (const cmd of ["serve", "init"]) expect(help).to.contain(cmd);
      const served = execFileSync(node, ["-e", `
        const { spawn } = require("node:child_process");
        const c = spawn(process.execPath, [${JSON.stringify(bin)}, "serve", "--memory", "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
        let out = "";
        c.stdout.on("data", async (b) => {
          out += String(b);
          const m = /agentpay listening on (http:\\/\\/\\S+)\\n/.exec(out);
          if (!m) return;
          const url = m[1];
          const r = await fetch(url + "/healthz");
          const doc = await (await fetch(url + "/openapi.json")).json();
          console.log(JSON.stringify({ status: r.status, paths: Object.keys(doc.paths).length }));
          c.kill("SIGTERM");
        });
      `], { cwd: app, encoding: "utf8", timeout: 60_000 });
      const s = JSON.parse(served.trim()) as { status: number; paths: number };
      expect(s.status).to.equal(200);
      expect(s.paths).to.be.greaterThan(40);
    });
  }

  it("the README's TypeScript example type-checks against the published .d.ts (nodenext, strict) and runs on Node 24", () => {
    const app = join(work, `app-${process.version}`);
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const code = /<!-- example:start -->\s*```ts\n([\s\S]*?)```\s*<!-- example:end -->/.exec(readme)![1]!;
    expect(code).to.contain(`from "${pkg.name}"`);
    writeFileSync(join(app, "example.ts"), code);
    writeFileSync(join(app, "tsconfig.json"), JSON.stringify({
      compilerOptions: {
        target: "ES2022", module: "nodenext", moduleResolution: "nodenext", strict: true, noEmit: true, types: ["node"],
        allowImportingTsExtensions: true, skipLibCheck: false, noUncheckedIndexedAccess: true,
      },
      files: ["example.ts"],
    }));
    try {
      execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], { cwd: app, encoding: "utf8" });
    } catch (e) {
      throw new Error(`tsc failed:\n${(e as { stdout?: string }).stdout ?? e}`);
    }
    const out = execFileSync(process.execPath, ["example.ts"], { cwd: app, encoding: "utf8", timeout: 120_000 });
    const expected = /console\.log\(.*\);\s*\/\/ (.+)$/m.exec(code)![1]!.trim();
    expect(out.trim().split("\n").pop()).to.equal(expected);
  });

  it("agentpay/client imports in plain JavaScript and loads no server framework, MCP SDK, viem, CLI or SQL code", () => {
    const app = join(work, `app-${process.version}`);
    writeFileSync(join(app, "client-hooks.mjs"), `import { appendFileSync } from "node:fs";
export async function load(url, context, next) {
  appendFileSync(process.env.LOADED_LOG, url + "\\n");
  return next(url, context);
}`);
    writeFileSync(join(app, "client-register.mjs"), `import { register } from "node:module"; register("./client-hooks.mjs", import.meta.url);`);
    writeFileSync(join(app, "import-client.mjs"), `const m = await import("agentpay/client");
console.log(JSON.stringify({ agent: typeof m.AgentPayClient, merchant: typeof m.MerchantClient, admin: typeof m.AdminClient, error: typeof m.AgentPayHttpError }));`);
    const log = join(app, "client-loaded.log");
    const out = execFileSync(process.execPath, ["--import", "./client-register.mjs", "import-client.mjs"], { cwd: app, encoding: "utf8", env: { ...process.env, LOADED_LOG: log } });
    expect(JSON.parse(out.trim())).to.deep.equal({ agent: "function", merchant: "function", admin: "function", error: "function" });
    const loaded = readFileSync(log, "utf8").split("\n").filter(Boolean);
    expect(loaded.some((u) => u.includes("/node_modules/agentpay/dist/client/index.js"))).to.equal(true);
    const heavy = loaded.filter((u) => /node_modules\/(viem|ox|abitype|@noble\/curves|hono|@hono|@scalar|@modelcontextprotocol|hardhat|pg|postgres|commander|zod|pino|level|classic-level)\//.test(u)
      || /agentpay\/dist\/(chain|chain-bridge|http|cli|mcp|x402|console)\//.test(u) || /agentpay\/dist\/agentpay\.js$/.test(u));
    expect(heavy, "modules the client must not load").to.deep.equal([]);
  });

  it("importing the core loads no chain, server, CLI, MCP or SQL code (measured import time printed)", () => {
    const app = join(work, `app-${process.version}`);
    // A load hook records every module the import loads.
    writeFileSync(join(app, "hooks.mjs"), `import { appendFileSync } from "node:fs";
export async function load(url, context, next) {
  appendFileSync(process.env.LOADED_LOG, url + "\\n");
  return next(url, context);
}`);
    writeFileSync(join(app, "register.mjs"), `import { register } from "node:module"; register("./hooks.mjs", import.meta.url);`);
    writeFileSync(join(app, "import-core.mjs"), `const t0 = performance.now(); await import("agentpay"); console.log(JSON.stringify({ importMs: performance.now() - t0 }));`);
    const log = join(app, "loaded.log");
    execFileSync(process.execPath, ["--import", "./register.mjs", "import-core.mjs"], { cwd: app, encoding: "utf8", env: { ...process.env, LOADED_LOG: log } });
    const loaded = readFileSync(log, "utf8").split("\n").filter(Boolean);
    expect(loaded.some((u) => u.includes("/node_modules/agentpay/dist/index.js"))).to.equal(true);
    const heavy = loaded.filter((u) => /node_modules\/(viem|ox|abitype|@noble\/curves|hono|@hono|@modelcontextprotocol|hardhat|pg|postgres|commander|zod|level|classic-level)\//.test(u)
      || /agentpay\/dist\/(chain|chain-bridge|http|client|cli|mcp|x402|console)\//.test(u));
    expect(heavy, "modules the core must not load").to.deep.equal([]);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const out = execFileSync(process.execPath, ["import-core.mjs"], { cwd: app, encoding: "utf8" });
      times.push((JSON.parse(out) as { importMs: number }).importMs);
    }
    times.sort((a, b) => a - b);
    const installed = Number(execFileSync("du", ["-sk", join(app, "node_modules")], { encoding: "utf8" }).split("\t")[0]);
    console.log(`      import "agentpay": median ${times[2]!.toFixed(0)} ms over 5 fresh processes; ${loaded.length} modules; installed node_modules ${(installed / 1024).toFixed(1)} MB`);
  });
});
