// The clients' types are generated from the OpenAPI document the server serves: this fails when the
// committed src/client/openapi.ts no longer matches it (run `npm run gen:client`). And the client
// entry point stays light: importing it loads no server framework, MCP SDK or viem.
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { AgentPay } from "../../src/index.ts";
import { serve } from "../../src/http/index.ts";
import { CLIENT_TYPES, renderClientTypes } from "../../scripts/gen-client.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("client: generated types and a light import", function () {
  this.timeout(120_000);

  it("src/client/openapi.ts is what openapi-typescript makes of the document a running server serves", async () => {
    const pay = await AgentPay.open({ memory: true, delivery: false });
    const server = await serve(pay, { port: 0 });
    try {
      const res = await fetch(`${server.url}/openapi.json`);
      expect(res.status).to.equal(200);
      const doc = (await res.json()) as Record<string, unknown>;
      expect(Object.keys(doc.paths as object).length).to.be.greaterThan(40);
      const generated = await renderClientTypes(doc);
      expect(generated).to.contain('"/v1/payment-intents"');
      expect(readFileSync(CLIENT_TYPES, "utf8") === generated, "src/client/openapi.ts differs from the served document: run npm run gen:client").to.equal(true);
    } finally {
      await server.close();
    }
  });

  it("importing the client loads no server framework, MCP SDK, viem, CLI or SQL driver", () => {
    const dir = mkdtempSync(join(tmpdir(), "agentpay-client-import-"));
    try {
      const log = join(dir, "loaded.log");
      writeFileSync(join(dir, "hooks.mjs"), `import { appendFileSync } from "node:fs";
export async function load(url, context, next) { appendFileSync(process.env.LOADED_LOG, url + "\\n"); return next(url, context); }`);
      writeFileSync(join(dir, "register.mjs"), `import { register } from "node:module"; register("./hooks.mjs", import.meta.url);`);
      writeFileSync(join(dir, "import.mjs"), `const m = await import(${JSON.stringify(pathToFileURL(join(root, "src/client/index.ts")).href)}); if (!m.AgentPayClient || !m.MerchantClient || !m.AdminClient) process.exit(3);`);
      execFileSync(process.execPath, ["--import", "./register.mjs", "import.mjs"], { cwd: dir, env: { ...process.env, LOADED_LOG: log } });
      const loaded = readFileSync(log, "utf8").split("\n").filter(Boolean);
      expect(loaded.some((u) => u.endsWith("/src/client/index.ts"))).to.equal(true);
      expect(loaded.some((u) => u.includes("/node_modules/openapi-fetch/"))).to.equal(true);
      const heavy = loaded.filter((u) => /node_modules\/(viem|ox|abitype|@noble\/curves|hono|@hono|@scalar|@modelcontextprotocol|hardhat|pg|postgres|commander|zod|pino|level|classic-level|openapi-typescript)\//.test(u)
        || /\/src\/(http|cli|mcp|chain|chain-bridge|x402|console)\//.test(u) || /\/src\/agentpay\.ts$/.test(u));
      expect(heavy, "modules the client must not load").to.deep.equal([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
