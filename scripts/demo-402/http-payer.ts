// The agent's side of agentpay over HTTP, as little of it as fetchWithPayment needs (requestPayment,
// waitForApproval, voidPayment): every write a signed intent, every read a signed request, the key never
// leaves this process. agentpay/client's AgentPayClient is the full client and has the same methods.
import { AgentPayError, buildPayIntent, buildVoidIntent, createIntentSigner, requestSignatureBody } from "../../src/index.ts";
import type { AuthorizeResult, RequestPaymentInput } from "../../src/index.ts";
import type { X402Payer } from "../../src/x402/index.ts";

export interface HttpPayer extends X402Payer {
  /** A signed GET of agentpay's API (e.g. the sub-wallet's budget). */
  get(path: string): Promise<unknown>;
}

export async function httpPayer(baseUrl: string, agentId: string, privateKeyJwk: Record<string, unknown>, f: typeof fetch = fetch): Promise<HttpPayer> {
  const sign = await createIntentSigner(privateKeyJwk, { agentId });
  const signed = async (method: string, path: string, body?: unknown): Promise<Response> => {
    const text = body === undefined ? "" : JSON.stringify(body);
    const sig = await sign(requestSignatureBody(method, path, text), { nowMs: Date.now() });
    return f(`${baseUrl}${path}`, { method, headers: { authorization: `Agent ${sig}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) }, ...(body !== undefined ? { body: text } : {}) });
  };
  const json = async (r: Response): Promise<Record<string, unknown>> => {
    const b = await r.json() as Record<string, unknown>;
    if (r.status >= 400) {
      const e = (b.error ?? {}) as { code?: string; message?: string; details?: Record<string, unknown> };
      throw new AgentPayError((e.code ?? "INTERNAL_ERROR") as never, e.message ?? `HTTP ${r.status}`, e.details ?? {});
    }
    return b;
  };
  /** A payment (wire form) as requestPayment answers. */
  const resultOf = (p: Record<string, unknown>): AuthorizeResult => {
    const paymentId = (p.paymentId ?? p.id) as string;
    const decision = p.decision as never;
    if (p.status === "approved" || (p.status === "authorized" && typeof p.token === "string")) {
      return { status: "approved", paymentId, token: p.token as string, tokenId: p.tokenId as string, expiresAtMs: Date.parse(p.expiresAt as string), decision };
    }
    if (p.status === "pending_approval") return { status: "pending_approval", paymentId, approvalId: p.approvalId as string, expiresAtMs: Date.parse(p.expiresAt as string), decision };
    return { status: p.status as "denied", paymentId, decision };
  };
  return {
    async requestPayment(input: RequestPaymentInput) {
      const intent = await sign(buildPayIntent(input), { nowMs: Date.now() });
      return resultOf(await json(await f(`${baseUrl}/v1/payment-intents`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ intent }) })));
    },
    async waitForApproval(paymentId: string, opts: { timeoutMs: number }) {
      const deadline = Date.now() + opts.timeoutMs;
      for (;;) {
        const waitS = Math.max(0, Math.min(30, Math.floor((deadline - Date.now()) / 1000)));
        const p = await json(await signed("GET", `/v1/payments/${paymentId}${waitS > 0 ? `?wait=${waitS}` : ""}`));
        if (p.status !== "pending_approval" || waitS === 0) return resultOf(p);
      }
    },
    async voidPayment(paymentId: string) {
      const intent = await sign(buildVoidIntent(paymentId), { nowMs: Date.now() });
      return json(await f(`${baseUrl}/v1/payments/${paymentId}/void`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ intent }) }));
    },
    async get(path: string) {
      return json(await signed("GET", path));
    },
  };
}
