// The server and key a command talks to: --url/--key, then AGENTPAY_URL/AGENTPAY_KEY, then the config file.
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { AgentPayError, CurrencyRegistry, parseAmount } from "../index.ts";
import type { Amount } from "../index.ts";
import { AdminClient, AgentPayClient, MerchantClient } from "../client/index.ts";
import { readConfig } from "./config.ts";
import type { Out } from "./output.ts";

export interface Globals { url?: string; key?: string; json?: boolean; debug?: boolean }

export interface Ctx {
  out: Out;
  url: string;
  registry: CurrencyRegistry;
  admin(): AdminClient;
  merchant(merchantId: string | undefined): MerchantClient;
  amount(value: string, currency: string): Amount;
}

export class UsageError extends Error {}

export function ctxOf(cmd: Command): Ctx {
  const g = cmd.optsWithGlobals() as Globals;
  const cfg = readConfig();
  const url = g.url ?? process.env.AGENTPAY_URL ?? cfg.url ?? "http://127.0.0.1:8787";
  const key = g.key ?? process.env.AGENTPAY_KEY ?? cfg.key;
  const registry = new CurrencyRegistry();
  const needKey = (): string => {
    if (!key) throw new UsageError("no API key: pass --key, set AGENTPAY_KEY, or run `agentpay init`");
    return key;
  };
  return {
    out: { json: g.json === true, registry }, url, registry,
    admin: () => new AdminClient({ baseUrl: url, apiKey: needKey(), currencies: registry }),
    merchant: (merchantId) => new MerchantClient({
      baseUrl: url, apiKey: needKey(), currencies: registry,
      merchantId: need(merchantId ?? process.env.AGENTPAY_MERCHANT_ID, "--merchant <id> (or AGENTPAY_MERCHANT_ID)"),
    }),
    amount: (value, currency) => parseAmount(value, currency.toUpperCase() === currency ? currency : currency.toUpperCase(), registry),
  };
}

/** An agent's key file (written by `agentpay agent register`): its id, private key and server. */
export interface AgentKeyFile { agentId: string; privateKeyJwk: Record<string, unknown>; url?: string }

export function readAgentKey(path: string): AgentKeyFile {
  let k: AgentKeyFile;
  try {
    k = JSON.parse(readFileSync(path, "utf8")) as AgentKeyFile;
  } catch {
    throw new UsageError(`cannot read the agent key file ${path}`);
  }
  if (!k || typeof k.agentId !== "string" || typeof k.privateKeyJwk !== "object") throw new UsageError(`${path} is not an agent key file (agentId, privateKeyJwk)`);
  return k;
}

export function agentClient(ctx: Ctx, keyFile: AgentKeyFile, url?: string): AgentPayClient {
  return new AgentPayClient({ baseUrl: url ?? keyFile.url ?? ctx.url, agentId: keyFile.agentId, privateKeyJwk: keyFile.privateKeyJwk, currencies: ctx.registry });
}

export function need<T>(v: T | undefined, what: string): T {
  if (v === undefined || v === "") throw new UsageError(`${what} is required`);
  return v;
}

export { AgentPayError };
