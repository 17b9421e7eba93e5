// `agentpay mcp` as an LLM host runs it: the official SDK client over stdio (the host starts the process)
// and over Streamable HTTP, against a real agentpay server; the agent's key stays in the MCP process.
import { expect } from "chai";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { AgentPay, amount, generateAgentKey } from "../../src/index.ts";
import { serve } from "../../src/http/index.ts";
import type { RunningServer } from "../../src/http/index.ts";

const main = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

describe("MCP: agentpay mcp over stdio and Streamable HTTP (official SDK client, real server)", function () {
  this.timeout(180_000);
  let pay: AgentPay;
  let server: RunningServer;
  let dir: string;
  let keyFile: string;
  let ids: { sw: string; merchant: string; grant: string; agent: string };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "agentpay-mcp-"));
    pay = await AgentPay.open({ memory: true, risk: "off", delivery: false });
    server = await serve(pay, { port: 0, rateLimit: false });
    const wallet = await pay.wallets.create({ ownerId: "alice", currency: "USD", timeZone: "UTC" });
    await pay.wallets.deposit(wallet.id, amount("500.00", "USD"), { idempotencyKey: "d" });
    const sw = await pay.wallets.createSubWallet(wallet.id, { name: "groceries", budget: amount("300.00", "USD"), policy: { daily: "100.00", approvalAbove: "50.00" } });
    const key = await generateAgentKey();
    const { agent } = await pay.agents.register({ name: "llm", publicKeyJwk: key.jwk });
    const grant = await pay.grants.create({ subWalletId: sw.id, agentId: agent.id, scopes: ["pay", "refund:request"], mode: "persistent" });
    const { merchant } = await pay.merchants.register({ name: "Grocer", category: "5411" });
    keyFile = join(dir, "agent.json");
    writeFileSync(keyFile, JSON.stringify({ agentId: agent.id, privateKeyJwk: key.privateKeyJwk, url: server.url }), { mode: 0o600 });
    ids = { sw: sw.id, merchant: merchant.id, grant: grant.id, agent: agent.id };
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function conversation(client: Client): Promise<void> {
    const call = async (name: string, args: Record<string, unknown> = {}) => {
      const r = await client.callTool({ name, arguments: args }) as { content: Array<{ text: string }>; isError?: boolean };
      return { isError: r.isError === true, json: JSON.parse(r.content[0]!.text) as Record<string, any> };
    };
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).to.include.members(["get_budget", "request_payment", "wait_for_approval", "pay_for_resource"]);
    expect(tools.length).to.equal(8);
    const budget = await call("get_budget", { subWalletId: ids.sw });
    expect(budget.isError).to.equal(false);
    const start = Number(budget.json.today.remaining.value);
    const small = await call("request_payment", { subWalletId: ids.sw, merchantId: ids.merchant, amount: "10.00", currency: "USD", reference: "order-1" });
    expect(small.json.status).to.equal("approved");
    const after = await call("get_budget", { subWalletId: ids.sw });
    expect(Number(after.json.today.remaining.value)).to.equal(start - 10);
    const big = await call("request_payment", { subWalletId: ids.sw, merchantId: ids.merchant, amount: "60.00", currency: "USD" });
    expect(big.json.status).to.equal("pending_approval");
    const waiting = call("wait_for_approval", { paymentId: big.json.paymentId, timeoutSeconds: 60 });
    await new Promise((r) => setTimeout(r, 300));
    await pay.approvals.approve(big.json.approvalId);
    const approved = await waiting;
    expect(approved.json.status).to.equal("approved");
    expect(approved.json.token).to.be.a("string");
    const got = await call("get_payment", { paymentId: big.json.paymentId });
    expect(got.json.status).to.equal("authorized");
    const list = await call("list_payments", { limit: 5 });
    expect(list.json.payments.length).to.be.greaterThan(1);
    const voided = await call("void_payment", { paymentId: small.json.paymentId });
    expect(voided.json.status).to.equal("voided");
    // The merchant captures the approved one; the agent asks for part of it back.
    await pay.payments.redeem({ token: approved.json.token, merchantId: ids.merchant, amount: amount("60.00", "USD"), idempotencyKey: `cap-${big.json.paymentId}` });
    const rr = await call("request_refund", { paymentId: big.json.paymentId, amount: "5.00", currency: "USD", reason: "bruised apples" });
    expect(rr.json.status).to.equal("pending");
    // The daily limit stops it, with reasons a model can act on.
    const over = await call("request_payment", { subWalletId: ids.sw, merchantId: ids.merchant, amount: "45.00", currency: "USD" });
    expect(over.isError).to.equal(true);
    expect(over.json.error).to.equal("PAYMENT_DECLINED");
    expect(over.json.reasons.map((r: { code: string }) => r.code)).to.include("POLICY_DAILY_BUDGET_EXCEEDED");
    const bad = await call("get_payment", { paymentId: "pay_00000000000000" });
    expect(bad.isError).to.equal(true);
  }

  it("stdio: the host starts `agentpay mcp --agent-key … --url …`; a whole conversation; a revoked grant is a tool error", async () => {
    const transport = new StdioClientTransport({ command: process.execPath, args: [main, "mcp", "--agent-key", keyFile, "--url", server.url], stderr: "pipe" });
    const client = new Client({ name: "test-host", version: "1" });
    await client.connect(transport);
    try {
      await conversation(client);
      const other = await pay.grants.create({ subWalletId: ids.sw, agentId: ids.agent, scopes: ["pay"], mode: "persistent" });
      await pay.grants.revoke(ids.grant);
      await pay.grants.revoke(other.id);
      const r = await client.callTool({ name: "request_payment", arguments: { subWalletId: ids.sw, merchantId: ids.merchant, amount: "1.00", currency: "USD" } }) as { content: Array<{ text: string }>; isError?: boolean };
      expect(r.isError).to.equal(true);
      expect(JSON.parse(r.content[0]!.text).error).to.equal("GRANT_REVOKED");
      ids.grant = (await pay.grants.create({ subWalletId: ids.sw, agentId: ids.agent, scopes: ["pay", "refund:request"], mode: "persistent" })).id;
    } finally {
      await client.close();
    }
  });

  it("Streamable HTTP: `agentpay mcp --http`; --tools limits what is exposed; a token is required when set", async () => {
    // A new day's budget for this conversation: a fresh sub-wallet.
    const w = pay.wallets.list({ ownerId: "alice" })[0]!;
    ids.sw = (await pay.wallets.createSubWallet(w.id, { name: "groceries 2", budget: amount("150.00", "USD"), policy: { daily: "100.00", approvalAbove: "50.00" } })).id;
    await pay.grants.create({ subWalletId: ids.sw, agentId: ids.agent, scopes: ["pay", "refund:request"], mode: "persistent" });
    const child: ChildProcess = spawn(process.execPath, [main, "mcp", "--agent-key", keyFile, "--url", server.url, "--http", "--port", "0", "--http-token", "s3cret-token"], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      const url = await new Promise<string>((resolve) => {
        let buf = "";
        child.stdout!.on("data", (b: Buffer) => {
          buf += b.toString();
          const m = /listening on (http:\/\/\S+)/.exec(buf);
          if (m) resolve(m[1]!);
        });
      });
      const denied = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      expect(denied.status).to.equal(401);
      const client = new Client({ name: "test-host", version: "1" });
      await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: "Bearer s3cret-token" } } }));
      try {
        await conversation(client);
      } finally {
        await client.close();
      }
    } finally {
      child.kill("SIGTERM");
    }
    const limited = new StdioClientTransport({ command: process.execPath, args: [main, "mcp", "--agent-key", keyFile, "--url", server.url, "--tools", "get_budget,request_payment"], stderr: "pipe" });
    const c2 = new Client({ name: "test-host", version: "1" });
    await c2.connect(limited);
    expect((await c2.listTools()).tools.map((t) => t.name).sort()).to.deep.equal(["get_budget", "request_payment"]);
    await c2.close();
  });
});
