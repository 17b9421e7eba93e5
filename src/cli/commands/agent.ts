// Agents and merchants from a terminal, and the agent's and the merchant's own commands: pay, refund.
import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { Command } from "commander";
import { generateAgentKey, toWire } from "../../index.ts";
import { agentClient, ctxOf, readAgentKey, UsageError } from "../context.ts";
import { fields, money, print, spin, status } from "../output.ts";

function writeKeyFile(path: string, content: object, force: boolean): string {
  const p = resolve(path);
  if (existsSync(p) && !force) throw new UsageError(`${p} exists: pass --force to overwrite it`);
  writeFileSync(p, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
  chmodSync(p, 0o600);
  return p;
}

export function agentCommand(): Command {
  const c = new Command("agent").description("agents: register (key pair made here, private key to a 0600 file), rotate-key, disable");
  c.command("register").description("register an agent; its private key never leaves this machine").requiredOption("--name <name>")
    .option("--owner <id>", "operator keys: the person who manages it").option("--key-out <file>", "where to write the agent's key file", "./agent-key.json")
    .option("--alg <alg>", "EdDSA or ES256", "EdDSA").option("--force", "overwrite the key file").action(async (o, cmd) => {
      const ctx = ctxOf(cmd);
      if (o.alg !== "EdDSA" && o.alg !== "ES256") throw new UsageError("--alg is EdDSA or ES256");
      if (existsSync(resolve(o.keyOut)) && !o.force) throw new UsageError(`${resolve(o.keyOut)} exists: pass --force to overwrite it`);
      const key = await generateAgentKey(o.alg);
      const r = await ctx.admin().agents.register({ name: o.name, publicKeyJwk: key.jwk, ...(o.owner ? { ownerId: o.owner } : {}) });
      const file = writeKeyFile(o.keyOut, { agentId: r.agent.id, privateKeyJwk: key.privateKeyJwk, url: ctx.url }, true);
      print(ctx.out, { agent: r.agent, kid: r.kid, keyFile: file }, () => `${status("created")} agent ${r.agent.id} (${r.agent.name})\nkey file (0600): ${file}`);
    });
  c.command("rotate-key <agentId>").description("a new key pair; the old key keeps verifying for --grace").option("--key-out <file>", "the new key file", "./agent-key.json")
    .option("--grace <duration>", "e.g. 1h").option("--force").action(async (agentId, o, cmd) => {
      const ctx = ctxOf(cmd);
      if (existsSync(resolve(o.keyOut)) && !o.force) throw new UsageError(`${resolve(o.keyOut)} exists: pass --force to overwrite it`);
      const key = await generateAgentKey();
      const r = await ctx.admin().agents.rotateKey(agentId, { publicKeyJwk: key.jwk, ...(o.grace ? { grace: o.grace } : {}) });
      const file = writeKeyFile(o.keyOut, { agentId, privateKeyJwk: key.privateKeyJwk, url: ctx.url }, true);
      print(ctx.out, { agent: r.agent, kid: r.kid, keyFile: file }, () => `${status("ok")} new key ${r.kid}\nkey file (0600): ${file}`);
    });
  c.command("disable <agentId>").description("refuse every next request of the agent").action(async (agentId, _o, cmd) => {
    const ctx = ctxOf(cmd);
    const a = await ctx.admin().agents.disable(agentId);
    print(ctx.out, a, () => `${status(a.status)} ${a.id}`);
  });
  c.command("list").action(async (_o, cmd) => {
    const ctx = ctxOf(cmd);
    const page = await ctx.admin().agents.list({ limit: 100 });
    print(ctx.out, page.data, () => page.data.map((a) => `${a.id}  ${status(a.status)}  ${a.name}`).join("\n") || "(none)");
  });
  return c;
}

export function merchantCommand(): Command {
  const c = new Command("merchant").description("merchants (operator): register, rotate-key");
  c.command("register").requiredOption("--name <name>").requiredOption("--category <mcc>", "merchant category code, 4 digits")
    .option("--callback-url <url>", "where signed webhooks go").option("--settlement <rail>", "ledger or chain", "ledger").option("--chain-address <0x…>")
    .action(async (o, cmd) => {
      const ctx = ctxOf(cmd);
      const r = await ctx.admin().merchants.register({
        name: o.name, category: o.category, ...(o.callbackUrl ? { callbackUrl: o.callbackUrl } : {}), settlement: o.settlement,
        ...(o.chainAddress ? { chainAddress: o.chainAddress } : {}),
      });
      print(ctx.out, r, () => `${status("created")} merchant ${r.merchant.id} (${r.merchant.name})\n${fields({ "api key (shown once)": r.apiKey.secret, "callback secret (shown once)": r.callbackSecret })}`);
    });
  c.command("rotate-key <keyId>").description("a new API key for the merchant; the old one works for --grace").option("--grace <duration>")
    .action(async (keyId, o, cmd) => {
      const ctx = ctxOf(cmd);
      const r = await ctx.admin().apiKeys.rotate(keyId, o.grace ? { grace: o.grace } : {});
      print(ctx.out, r, () => `${status("created")} key ${r.apiKey.id}\nsecret (shown once): ${r.secret}`);
    });
  return c;
}

export function payCommand(): Command {
  return new Command("pay").description("pay as an agent, from its key file (waits for the person's approval when asked)")
    .requiredOption("--agent-key <file>").requiredOption("--sub-wallet <id>").requiredOption("--merchant <id>")
    .requiredOption("--amount <decimal>").requiredOption("--currency <code>").option("--reference <ref>").option("--idempotency-key <key>")
    .option("--wait <seconds>", "how long to wait for an approval", "120").action(async (o, cmd) => {
      const ctx = ctxOf(cmd);
      const agent = agentClient(ctx, readAgentKey(o.agentKey));
      let r = await agent.requestPayment({
        subWalletId: o.subWallet, merchantId: o.merchant, amount: ctx.amount(o.amount, o.currency),
        ...(o.reference ? { reference: o.reference } : {}), ...(o.idempotencyKey ? { idempotencyKey: o.idempotencyKey } : {}),
      });
      if (r.status === "pending_approval") {
        if (!ctx.out.json) process.stderr.write(`waiting for the person's approval (${r.approvalId})…\n`);
        r = await spin(ctx.out, "waiting for approval", () => agent.waitForApproval(r.paymentId, { timeoutMs: Number(o.wait) * 1000 }));
      }
      const wr = toWire(r, ctx.registry) as Record<string, unknown>;
      print(ctx.out, r, () => r.status === "approved"
        ? `${status("approved")} payment ${r.paymentId}\n${fields({ token: r.token, expiresAt: wr.expiresAt })}`
        : `${status(r.status)} payment ${r.paymentId}`);
      if (r.status !== "approved") process.exitCode = 1;
    });
}

export function refundCommand(): Command {
  return new Command("refund").description("refund (part of) a captured payment, as its merchant").argument("<paymentId>").argument("<amount>").argument("<currency>")
    .option("--merchant <id>", "the merchant (or AGENTPAY_MERCHANT_ID)").option("--reason <text>").option("--idempotency-key <key>")
    .action(async (paymentId, value, currency, o, cmd) => {
      const ctx = ctxOf(cmd);
      const r = await ctx.merchant(o.merchant).refund({
        paymentId, amount: ctx.amount(value, currency), ...(o.reason ? { reason: o.reason } : {}), ...(o.idempotencyKey ? { idempotencyKey: o.idempotencyKey } : {}),
      });
      print(ctx.out, r, () => `${status("ok")} refund ${r.id}: ${money((toWire(r, ctx.registry) as { amount: unknown }).amount)}`);
    });
}
