// pay_for_resource: the agent fetches a URL and, when it answers HTTP 402 in agentpay's x402 schemes,
// pays within its grant (policy, risk engine and the person's approval all apply) and fetches again.
// The model names the most it will pay; nothing above it is paid. Every step is bounded in time and
// size, private addresses are refused unless allowed, and a failure after the payment says so (with the
// payment id) so the model never pays twice for one resource.
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { z } from "zod";
import { AgentPayError, WebhookAddressPolicy } from "../index.ts";
import type { AuthorizeResult } from "../index.ts";
import { fetchWithPayment } from "../x402/index.ts";
import type { X402Payer } from "../x402/index.ts";
import type { McpAgentSide } from "./agent.ts";
import type { ToolDef } from "./tools.ts";

/** What a model sees of the response body: enough to use, not a download. */
export const MAX_BODY_CHARS = 8_000;
/** A request body the model sends: small JSON or text. */
const MAX_REQUEST_BODY_CHARS = 16_000;
/** Below the 60 s most MCP clients wait for a tool call, so an answer is never lost to their timeout. */
const DEFAULT_APPROVAL_WAIT_S = 40;
/** The fetches, the payment and the body together, beyond the approval wait. */
const NETWORK_BUDGET_MS = 15_000;

export interface PayForResourceOptions {
  /** The fetch to use (default globalThis.fetch). */
  fetch?: typeof fetch;
  /** Let the tool reach loopback, private and link-local addresses (development, tests). Default false. */
  allowPrivateNetworks?: boolean;
}

async function boundedText(res: Response): Promise<{ body: string; truncated: boolean }> {
  const reader = res.body?.getReader();
  if (!reader) return { body: "", truncated: false };
  const decoder = new TextDecoder();
  let body = "";
  // Read only what is shown (UTF-16 chars ≤ bytes), then stop the download.
  while (body.length <= MAX_BODY_CHARS) {
    const { done, value } = await reader.read();
    if (done) return { body: body + decoder.decode(), truncated: false };
    body += decoder.decode(value, { stream: true });
  }
  await reader.cancel().catch(() => {});
  return { body: body.slice(0, MAX_BODY_CHARS), truncated: true };
}

/**
 * A model chooses the URL, so a prompt-injected one could aim at the agent's own network: refuse a host
 * that is, or resolves to, a loopback, private or link-local address. Names are resolved here and again
 * by fetch: a DNS answer that changes in between is not caught (where that matters, send the agent's
 * traffic through an egress proxy that refuses private addresses).
 */
async function checkHost(url: URL, policy: WebhookAddressPolicy): Promise<void> {
  if (policy.allowPrivateNetworks) return;
  const refused = () => new AgentPayError("INVALID_INPUT", "the URL points at a loopback, private or link-local address", { field: "url", reason: "private_address" });
  if (policy.refusesHost(url.hostname)) throw refused();
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (isIP(host) !== 0) return;
  let addresses: Array<{ address: string }>;
  try {
    addresses = await lookup(host, { all: true });
  } catch (e) {
    throw new AgentPayError("CONNECTION_FAILED", `could not resolve ${host}`, { url: url.href, reason: (e as NodeJS.ErrnoException).code ?? "lookup_failed" });
  }
  if (addresses.some((a) => !policy.allows(a.address))) throw refused();
}

export function payForResourceTool(opts: PayForResourceOptions = {}): ToolDef {
  const fetchFn = opts.fetch ?? globalThis.fetch;
  const policy = new WebhookAddressPolicy({ allowPrivateNetworks: opts.allowPrivateNetworks ?? false });
  return {
    name: "pay_for_resource", title: "Fetch a paid resource (HTTP 402)",
    description: `Fetch a URL that may require payment (HTTP 402, x402). If it asks for payment, pay at most maxAmount from the sub-wallet (the user's budget rules apply; a payment above the user's threshold waits for their approval, up to approvalWaitSeconds) and fetch it again. Returns the HTTP status, the response body (text, truncated to ${MAX_BODY_CHARS} characters) and, when paid, the receipt (paymentId, amount, merchantId). Nothing is paid when the price is above maxAmount. If an error carries a paymentId, the payment was made: do not call again for the same resource.`,
    input: {
      url: z.string().url().max(2048).refine((u) => /^https?:\/\//i.test(u), "http or https only").describe("The resource, http(s)://…"),
      method: z.enum(["GET", "POST", "PUT", "DELETE"]).optional().describe("Default GET"),
      body: z.string().max(MAX_REQUEST_BODY_CHARS).optional().describe("Request body (JSON or text) for POST/PUT"),
      contentType: z.string().max(100).optional().describe("Content-Type of body; default application/json"),
      subWalletId: z.string().regex(/^sw_[0-9a-z]{8,64}$/).describe("The sub-wallet that pays (sw_…)"),
      maxAmount: z.string().regex(/^\d{1,30}(\.\d{1,18})?$/).describe("The most you will pay for this one request, decimal string, e.g. \"0.05\""),
      currency: z.string().min(3).max(64).describe("The currency of maxAmount, e.g. \"USD\""),
      approvalWaitSeconds: z.number().int().min(0).max(50).optional().describe(`How long to wait for the user's approval; default ${DEFAULT_APPROVAL_WAIT_S}`),
    },
    async run(agent: McpAgentSide, args) {
      const maxAmount = agent.amount(String(args.maxAmount), String(args.currency));
      if (maxAmount.minor <= 0n) throw new AgentPayError("INVALID_AMOUNT", "maxAmount must be above zero", { field: "maxAmount" });
      const url = new URL(String(args.url));
      const method = (args.method as string | undefined) ?? "GET";
      if (args.body !== undefined && method === "GET") throw new AgentPayError("INVALID_INPUT", "a GET has no body", { field: "body" });
      await checkHost(url, policy);
      const waitMs = Number(args.approvalWaitSeconds ?? DEFAULT_APPROVAL_WAIT_S) * 1000;
      // Which payment this call made, so a failure after it can say so.
      let paymentId: string | undefined;
      const payer: X402Payer = {
        requestPayment: async (input) => {
          const r: AuthorizeResult = await agent.payer.requestPayment(input);
          paymentId = r.paymentId;
          return r;
        },
        waitForApproval: (id, o) => agent.payer.waitForApproval(id, o),
        ...(agent.payer.voidPayment ? { voidPayment: (id: string) => agent.payer.voidPayment!(id) } : {}),
      };
      const paid = fetchWithPayment(fetchFn, payer, { subWalletId: String(args.subWalletId), maxAmount, approvalTimeoutMs: waitMs });
      const init: RequestInit = { method, redirect: "manual", signal: AbortSignal.timeout(waitMs + NETWORK_BUDGET_MS) };
      if (args.body !== undefined) {
        init.body = String(args.body);
        init.headers = { "content-type": String(args.contentType ?? "application/json") };
      }
      let r: Awaited<ReturnType<typeof paid>>;
      let body: { body: string; truncated: boolean };
      try {
        r = await paid(url.href, init);
        body = await boundedText(r.response);
      } catch (e) {
        if (paymentId !== undefined && !(e instanceof AgentPayError && /^X402_(APPROVAL_TIMEOUT|PAYMENT_DENIED)$/.test(e.code))) {
          // The payment went through (or may have): the model must not pay again for this resource.
          throw new AgentPayError("CONNECTION_FAILED", `paid (${paymentId}) but the resource could not be fetched: ${(e as Error).message}`, {
            url: url.href, paymentId,
            next: "Do not call pay_for_resource again for this resource: the payment may have been captured. Check it with get_payment and tell the user.",
          });
        }
        if (e instanceof AgentPayError) throw e;
        throw new AgentPayError("CONNECTION_FAILED", `could not fetch ${url.href}: ${(e as Error).message}`, { url: url.href });
      }
      const receipt = r.receipt && {
        paymentId: r.receipt.paymentId, merchantId: r.receipt.merchantId, amount: agent.toWire(r.receipt.amount),
        ...(r.receipt.approvalId ? { approvalId: r.receipt.approvalId } : {}),
        ...(r.receipt.settle && r.receipt.settle.success === false ? { refunded: true } : {}),
      };
      return {
        status: r.response.status, contentType: r.response.headers.get("content-type") ?? undefined, body: body.body, ...(body.truncated ? { truncated: true } : {}),
        ...(receipt ? { paid: receipt } : { paid: null }),
        ...(r.response.status === 402 ? { next: "The resource still asks for payment in a way agentpay does not pay. Tell the user." } : {}),
      };
    },
  };
}
