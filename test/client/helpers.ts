// A listening server (serve() on a real socket) over an AgentPay this test process can also read
// directly, so what the HTTP clients return is compared with the library's own records.
import { AgentPay, amount, generateAgentKey } from "../../src/index.ts";
import type { AgentPayOptions } from "../../src/index.ts";
import { serve } from "../../src/http/index.ts";
import type { RunningServer } from "../../src/http/index.ts";
import { AdminClient, AgentPayClient, MerchantClient } from "../../src/client/index.ts";
import type { ClientOptions } from "../../src/client/index.ts";

export const OPERATOR_KEY = "op_client_tests_0123456789";

export interface World {
  pay: AgentPay;
  server: RunningServer;
  url: string;
  operator: AdminClient;
  close(): Promise<void>;
}

export async function openWorld(opts: AgentPayOptions = {}, serveOpts: { rateLimit?: false } = {}): Promise<World> {
  const pay = await AgentPay.open({ memory: true, delivery: false, risk: "off", ...opts });
  const server = await serve(pay, { port: 0, operatorKeys: [OPERATOR_KEY], ...serveOpts });
  return {
    pay, server, url: server.url,
    operator: new AdminClient({ baseUrl: server.url, apiKey: OPERATOR_KEY }),
    close: () => server.close(),
  };
}

export interface Party {
  person: AdminClient;
  walletId: string;
  subWalletId: string;
  agentId: string;
  privateKeyJwk: Record<string, unknown>;
  agent: AgentPayClient;
  merchantId: string;
  merchantKey: string;
  merchant: MerchantClient;
}

/**
 * What a person, an agent and a merchant have after setting up over HTTP: a funded wallet, a
 * sub-wallet with `policy`, an agent registered with its PUBLIC key only, a grant, a merchant.
 */
export async function setUp(w: World, opts: { ownerId?: string; policy?: Record<string, unknown>; budget?: string; baseUrl?: string; clientOptions?: Partial<ClientOptions> } = {}): Promise<Party> {
  const ownerId = opts.ownerId ?? "alice";
  const baseUrl = opts.baseUrl ?? w.url;
  const personKey = await w.operator.apiKeys.create({ kind: "person", ownerId });
  const person = new AdminClient({ baseUrl, apiKey: personKey.secret, ...opts.clientOptions });
  const wallet = await person.wallets.create({ currency: "USD", timeZone: "Europe/Paris" });
  await person.wallets.deposit(wallet.id, amount("1000.00", "USD"), { idempotencyKey: `seed-${wallet.id}` });
  const sw = await person.wallets.createSubWallet(wallet.id, { name: "travel", budget: amount(opts.budget ?? "500.00", "USD"), ...(opts.policy ? { policy: opts.policy } : {}) });
  const key = await generateAgentKey();
  const { agent } = await person.agents.register({ name: "trip-planner", publicKeyJwk: key.jwk });
  await person.grants.create({ subWalletId: sw.id, agentId: agent.id, scopes: ["pay", "refund:request", "balance:read"], mode: "persistent" });
  const reg = await w.operator.merchants.register({ name: "SkyAir", category: "4511" });
  return {
    person, walletId: wallet.id, subWalletId: sw.id, agentId: agent.id, privateKeyJwk: key.privateKeyJwk as unknown as Record<string, unknown>,
    agent: new AgentPayClient({ baseUrl, agentId: agent.id, privateKeyJwk: key.privateKeyJwk as unknown as Record<string, unknown>, ...opts.clientOptions }),
    merchantId: reg.merchant.id, merchantKey: reg.apiKey.secret,
    merchant: new MerchantClient({ baseUrl, apiKey: reg.apiKey.secret, merchantId: reg.merchant.id, ...opts.clientOptions }),
  };
}

/** The rejection of `p` (fails the test if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<Error & { code: string; details: Record<string, unknown>; requestId?: string; status?: number; attempts?: number }> {
  try {
    await p;
  } catch (e) {
    return e as never;
  }
  throw new Error("expected a rejection");
}
