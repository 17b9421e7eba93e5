// A real server on a real socket, a world of every kind of caller, and a check of every response
// against the OpenAPI document the server itself serves.
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { expect } from "chai";
import { AgentPay, ManualClock, buildPayIntent, amount, requestSignatureBody, signIntent } from "../../src/index.ts";
import type { AgentPayOptions } from "../../src/index.ts";
import { serve } from "../../src/http/index.ts";
import type { RunningServer, ServeOptions } from "../../src/http/index.ts";

export type Who = "none" | "operator" | "alice" | "bob" | "merchantA" | "merchantB" | "agentA" | "agentB" | "revoked";
export const EVERYONE: Who[] = ["none", "operator", "alice", "bob", "merchantA", "merchantB", "agentA", "agentB", "revoked"];

export interface Res { status: number; body: any; headers: Headers; text: string }

/** Validates responses against the served OpenAPI document (ajv, JSON Schema 2020-12). */
export class OpenApiChecker {
  readonly #ajv: Ajv2020;
  readonly #doc: any;
  readonly #cache = new Map<string, (v: unknown) => boolean>();
  checked = 0;

  constructor(doc: any) {
    this.#doc = doc;
    this.#ajv = new Ajv2020({ strict: false, allErrors: true });
    (addFormats as unknown as (a: Ajv2020) => void)(this.#ajv);
    this.#ajv.addSchema({ ...doc, $id: "openapi" }, "openapi");
  }

  /** The documented route for a concrete path: "/v1/payments/pay_x" → "/v1/payments/{paymentId}". */
  route(method: string, path: string): string | undefined {
    const clean = path.split("?")[0]!;
    const candidates = Object.keys(this.#doc.paths).filter((p) => this.#doc.paths[p][method.toLowerCase()]);
    const exact = candidates.find((p) => p === clean);
    if (exact) return exact;
    return candidates.find((p) => new RegExp(`^${p.replace(/\{[^}]+\}/g, "[^/]+")}$`).test(clean));
  }

  check(method: string, path: string, res: Res): void {
    const route = this.route(method, path);
    expect(route, `${method} ${path} is documented`).to.not.equal(undefined);
    const responses = this.#doc.paths[route!][method.toLowerCase()].responses;
    expect(responses[String(res.status)], `${method} ${route} documents status ${res.status}: ${res.text.slice(0, 200)}`).to.not.equal(undefined);
    const type = res.headers.get("content-type") ?? "";
    if (!type.startsWith("application/json")) return;
    const pointer = `openapi#/paths/${route!.replace(/~/g, "~0").replace(/\//g, "~1")}/${method.toLowerCase()}/responses/${res.status}/content/application~1json/schema`;
    let validate = this.#cache.get(pointer);
    if (!validate) {
      validate = this.#ajv.compile({ $ref: pointer });
      this.#cache.set(pointer, validate);
    }
    const ok = validate(res.body);
    expect(ok, `${method} ${route} ${res.status} matches its schema: ${JSON.stringify((validate as any).errors?.slice(0, 3))} in ${res.text.slice(0, 300)}`).to.equal(true);
    this.checked++;
  }
}

export interface World {
  pay: AgentPay;
  server: RunningServer;
  url: string;
  clock: ManualClock | undefined;
  api: OpenApiChecker;
  keys: Record<"operator" | "alice" | "bob" | "merchantA" | "merchantB" | "revoked", string>;
  agents: Record<"agentA" | "agentB", { id: string; jwk: Record<string, unknown> }>;
  aliceWallet: string;
  aliceSub: string;
  bobWallet: string;
  bobSub: string;
  merchantA: string;
  merchantB: string;
  /** An HTTP call as `who`, checked against the OpenAPI document. */
  call(who: Who, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Res>;
  /** A signed intent of `agent` over `body`. */
  intent(agent: "agentA" | "agentB", body: unknown): Promise<string>;
  /** agentA asks to pay from alice's sub-wallet at merchantA. */
  payIntent(value: string, opts?: { agent?: "agentA" | "agentB"; merchantId?: string; subWalletId?: string; idempotencyKey?: string }): Promise<string>;
  close(): Promise<void>;
}

export async function startWorld(opts: { pay?: Partial<AgentPayOptions>; serve?: ServeOptions } = {}): Promise<World> {
  const pay = await AgentPay.open({ memory: true, delivery: false, risk: "off", ...opts.pay } as AgentPayOptions);
  const server = await serve(pay, { port: 0, rateLimit: false, ...opts.serve });
  const op = await pay.apiKeys.create({ kind: "operator" });
  const alice = await pay.apiKeys.create({ kind: "person", ownerId: "alice" });
  const bob = await pay.apiKeys.create({ kind: "person", ownerId: "bob" });
  const revoked = await pay.apiKeys.create({ kind: "person", ownerId: "alice" });
  await pay.apiKeys.revoke(revoked.apiKey.id);
  const usd = (s: string) => amount(s, "USD");
  const aw = await pay.wallets.create({ ownerId: "alice", currency: "USD", timeZone: "Europe/Paris" });
  await pay.wallets.deposit(aw.id, usd("1000000.00"), { idempotencyKey: "seed" });
  const as = await pay.wallets.createSubWallet(aw.id, { name: "travel", budget: usd("900000.00"), policy: { perPayment: "300.00", approvalAbove: "100.00" } });
  const bw = await pay.wallets.create({ ownerId: "bob", currency: "USD", timeZone: "UTC" });
  await pay.wallets.deposit(bw.id, usd("100.00"), { idempotencyKey: "seed" });
  const bs = await pay.wallets.createSubWallet(bw.id, { name: "food", budget: usd("50.00") });
  const a = await pay.agents.register({ name: "agent A", ownerId: "alice" });
  const b = await pay.agents.register({ name: "agent B", ownerId: "bob" });
  await pay.grants.create({ subWalletId: as.id, agentId: a.agent.id, scopes: ["pay", "refund:request", "balance:read"], mode: "persistent" });
  await pay.grants.create({ subWalletId: bs.id, agentId: b.agent.id, scopes: ["pay"], mode: "persistent" });
  const ma = await pay.merchants.register({ name: "SkyAir", category: "4511" });
  const mb = await pay.merchants.register({ name: "Hotel", category: "7011" });
  const ka = await pay.apiKeys.create({ kind: "merchant", merchantId: ma.merchant.id });
  const kb = await pay.apiKeys.create({ kind: "merchant", merchantId: mb.merchant.id });
  const doc = await (await fetch(`${server.url}/openapi.json`)).json();
  const api = new OpenApiChecker(doc);
  const keys = { operator: op.secret, alice: alice.secret, bob: bob.secret, merchantA: ka.secret, merchantB: kb.secret, revoked: revoked.secret };
  const agents = { agentA: { id: a.agent.id, jwk: a.privateKeyJwk! }, agentB: { id: b.agent.id, jwk: b.privateKeyJwk! } };
  const nowMs = () => pay.clock.nowMs();
  const world: World = {
    pay, server, url: server.url, clock: opts.pay?.clock as ManualClock | undefined, api, keys, agents,
    aliceWallet: aw.id, aliceSub: as.id, bobWallet: bw.id, bobSub: bs.id, merchantA: ma.merchant.id, merchantB: mb.merchant.id,
    intent: (agent, body) => signIntent(agents[agent].jwk, { agentId: agents[agent].id, body, nowMs: nowMs() }),
    payIntent: (value, o = {}) => world.intent(o.agent ?? "agentA", buildPayIntent({
      subWalletId: o.subWalletId ?? as.id, merchantId: o.merchantId ?? ma.merchant.id, amount: usd(value),
      ...(o.idempotencyKey ? { idempotencyKey: o.idempotencyKey } : {}),
    })),
    async call(who, method, path, body, headers = {}) {
      const text = body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body);
      const h: Record<string, string> = { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers };
      if (who === "agentA" || who === "agentB") {
        const sig = await signIntent(agents[who].jwk, { agentId: agents[who].id, nowMs: nowMs(), body: requestSignatureBody(method, path, text) });
        h.authorization = `Agent ${sig}`;
      } else if (who !== "none") {
        h.authorization = `Bearer ${keys[who]}`;
      }
      const r = await fetch(`${server.url}${path}`, { method, headers: h, ...(body !== undefined ? { body: text } : {}) });
      const t = await r.text();
      let parsed: unknown;
      try {
        parsed = t ? JSON.parse(t) : undefined;
      } catch {
        parsed = undefined;
      }
      const res: Res = { status: r.status, body: parsed, headers: r.headers, text: t };
      api.check(method, path, res);
      if (res.status >= 400) {
        expect(res.body?.error?.code, `error shape of ${method} ${path}: ${t.slice(0, 200)}`).to.be.a("string");
        expect(res.body.error.requestId).to.equal(r.headers.get("request-id"));
      }
      return res;
    },
    close: () => server.close(),
  };
  return world;
}
