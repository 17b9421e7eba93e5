// npm run demo:mcp — an MCP client (what an LLM host runs) drives an agent through agentpay's tools:
// check the budget → pay → a payment above the threshold waits for the person → token → the merchant
// redeems. The server, the MCP server (`agentpay mcp`, holding the agent's key) and the client are real.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { AgentPay, amount, generateAgentKey } from "../src/index.ts";
import { serve } from "../src/http/index.ts";
import { AdminClient, MerchantClient } from "../src/client/index.ts";

const main = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
let failed = 0;
let step = 0;
const say = (title: string, text: string) => console.log(`\n${++step}. ${title}\n   ${text}`);
const check = (ok: boolean, what: string) => {
  if (!ok) failed++;
  console.log(`  ${ok ? "✓" : "✗"} ${what}`);
};

const dir = mkdtempSync(join(tmpdir(), "agentpay-demo-mcp-"));
const pay = await AgentPay.open({ memory: true, risk: "off" });
const server = await serve(pay, { port: 0 });
try {
  const op = await pay.apiKeys.create({ kind: "operator" });
  const operator = new AdminClient({ baseUrl: server.url, apiKey: op.secret });
  say("Alice sets up a grocery budget for her assistant", "Daily $100; above $50 she is asked. The agent's key is made on its side.");
  const alice = new AdminClient({ baseUrl: server.url, apiKey: (await operator.apiKeys.create({ kind: "person", ownerId: "alice" })).secret });
  const wallet = await alice.wallets.create({ currency: "USD", timeZone: "Europe/Paris" });
  await alice.wallets.deposit(wallet.id, amount("300.00", "USD"));
  const sw = await alice.wallets.createSubWallet(wallet.id, { name: "groceries", budget: amount("200.00", "USD"), policy: { daily: "100.00", approvalAbove: "50.00" } });
  const key = await generateAgentKey();
  const { agent } = await alice.agents.register({ name: "assistant", publicKeyJwk: key.jwk });
  await alice.grants.create({ subWalletId: sw.id, agentId: agent.id, scopes: ["pay"], mode: "session", expiresIn: "8h" });
  const reg = await operator.merchants.register({ name: "Green Grocer", category: "5411" });
  const keyFile = join(dir, "agent.json");
  writeFileSync(keyFile, JSON.stringify({ agentId: agent.id, privateKeyJwk: key.privateKeyJwk, url: server.url }), { mode: 0o600 });
  check(true, `sub-wallet ${sw.id}, agent ${agent.id}, merchant ${reg.merchant.id}`);

  say("The LLM host starts `agentpay mcp` and lists the tools", "The agent's key stays in that process: the model only sees tool results.");
  const client = new Client({ name: "demo-host", version: "1" });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [main, "mcp", "--agent-key", keyFile, "--url", server.url] }));
  const call = async (name: string, args: Record<string, unknown> = {}) => {
    const r = await client.callTool({ name, arguments: args }) as { content: Array<{ text: string }>; isError?: boolean };
    const json = JSON.parse(r.content[0]!.text) as Record<string, any>;
    console.log(`     ${name}(${JSON.stringify(args)}) → ${r.content[0]!.text.slice(0, 160)}`);
    return { isError: r.isError === true, json };
  };
  const { tools } = await client.listTools();
  check(tools.some((t) => t.name === "request_payment"), `${tools.length} tools: ${tools.map((t) => t.name).join(", ")}`);

  say("The model checks the budget, then buys $32 of groceries", "Below the threshold: a token at once.");
  const b = await call("get_budget", { subWalletId: sw.id });
  check(b.json.today.remaining.value === "100.00", "$100.00 left today");
  const p1 = await call("request_payment", { subWalletId: sw.id, merchantId: reg.merchant.id, amount: "32.00", currency: "USD", description: "weekly vegetables" });
  check(p1.json.status === "approved", "approved with a single-use token");

  say("A $60 order is above Alice's threshold", "The model waits; Alice approves on her side.");
  const p2 = await call("request_payment", { subWalletId: sw.id, merchantId: reg.merchant.id, amount: "60.00", currency: "USD", description: "party supplies" });
  check(p2.json.status === "pending_approval", "pending Alice's approval");
  const waiting = call("wait_for_approval", { paymentId: p2.json.paymentId, timeoutSeconds: 60 });
  const pending = await alice.approvals.listPending();
  await alice.approvals.approve(pending.data.find((a) => a.subject.id === p2.json.paymentId)!.id, { note: "ok for the party" });
  const approved = await waiting;
  check(approved.json.status === "approved" && typeof approved.json.token === "string", "the model receives the token");

  say("The grocer redeems both tokens", "Verified offline from the JWKS, captured exactly once.");
  const shop = new MerchantClient({ baseUrl: server.url, apiKey: reg.apiKey.secret, merchantId: reg.merchant.id });
  const r1 = await shop.redeem({ token: p1.json.token, amount: amount("31.40", "USD") });
  const r2 = await shop.redeem({ token: approved.json.token, amount: amount("60.00", "USD") });
  check(r1.capturedMinor === 3140n && r2.capturedMinor === 6000n, "$31.40 and $60.00 captured");

  say("One more $20 would pass today's limit", "The model gets a tool error with the reason and what to do.");
  const over = await call("request_payment", { subWalletId: sw.id, merchantId: reg.merchant.id, amount: "20.00", currency: "USD" });
  check(over.isError && over.json.reasons.some((r: { code: string }) => r.code === "POLICY_DAILY_BUDGET_EXCEEDED"), "declined: POLICY_DAILY_BUDGET_EXCEEDED");
  await client.close();
} finally {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
console.log(failed === 0 ? "\nevery step behaved as told" : `\n${failed} step(s) did not`);
process.exitCode = failed === 0 ? 0 : 1;
