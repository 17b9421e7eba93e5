// pay_for_resource: the agent fetches a URL and, when it answers HTTP 402 in agentpay's x402 schemes,
// pays within its grant (policy, risk engine and the person's approval all apply) and fetches again.
// The model names the most it will pay; nothing above it is paid. The body that comes back is bounded.
import { z } from "zod";
import { AgentPayError } from "../index.ts";
import { fetchWithPayment } from "../x402/index.ts";
import type { McpAgentSide } from "./agent.ts";
import type { ToolDef } from "./tools.ts";

/** What a model sees of the response body: enough to use, not a download. */
export const MAX_BODY_CHARS = 8_000;
/** A request body the model sends: small JSON or text. */
const MAX_REQUEST_BODY_CHARS = 16_000;
/** The whole call (402, payment, approval wait, paid retry) is bounded. */
const DEFAULT_APPROVAL_WAIT_S = 60;

export interface PayForResourceOptions {
  /** The fetch to use (default globalThis.fetch). */
  fetch?: typeof fetch;
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

export function payForResourceTool(opts: PayForResourceOptions = {}): ToolDef {
  const fetchFn = opts.fetch ?? globalThis.fetch;
  return {
    name: "pay_for_resource", title: "Fetch a paid resource (HTTP 402)",
    description: "Fetch a URL that may require payment (HTTP 402, x402). If it asks for payment, pay at most maxAmount from the sub-wallet (the user's budget rules apply; a payment above the user's threshold waits for their approval, up to approvalWaitSeconds) and fetch it again. Returns the HTTP status, the response body (text, truncated to 8000 characters) and, when paid, the receipt (paymentId, amount, merchantId). Nothing is paid when the price is above maxAmount.",
    input: {
      url: z.string().url().max(2048).refine((u) => /^https?:\/\//i.test(u), "http or https only").describe("The resource, http(s)://…"),
      method: z.enum(["GET", "POST", "PUT", "DELETE"]).optional().describe("Default GET"),
      body: z.string().max(MAX_REQUEST_BODY_CHARS).optional().describe("Request body (JSON or text) for POST/PUT"),
      contentType: z.string().max(100).optional().describe("Content-Type of body; default application/json"),
      subWalletId: z.string().regex(/^sw_[0-9a-z]{8,64}$/).describe("The sub-wallet that pays (sw_…)"),
      maxAmount: z.string().regex(/^\d{1,30}(\.\d{1,18})?$/).describe("The most you will pay for this one request, decimal string, e.g. \"0.05\""),
      currency: z.string().min(3).max(64).describe("The currency of maxAmount, e.g. \"USD\""),
      approvalWaitSeconds: z.number().int().min(0).max(300).optional().describe(`How long to wait for the user's approval; default ${DEFAULT_APPROVAL_WAIT_S}`),
    },
    async run(agent: McpAgentSide, args) {
      const maxAmount = agent.amount(String(args.maxAmount), String(args.currency));
      if (maxAmount.minor <= 0n) throw new AgentPayError("INVALID_AMOUNT", "maxAmount must be above zero", { field: "maxAmount" });
      const paid = fetchWithPayment(fetchFn, agent.payer, {
        subWalletId: String(args.subWalletId), maxAmount, approvalTimeoutMs: Number(args.approvalWaitSeconds ?? DEFAULT_APPROVAL_WAIT_S) * 1000,
      });
      const method = (args.method as string | undefined) ?? "GET";
      const init: RequestInit = { method, redirect: "manual" };
      if (args.body !== undefined) {
        if (method === "GET") throw new AgentPayError("INVALID_INPUT", "a GET has no body", { field: "body" });
        init.body = String(args.body);
        init.headers = { "content-type": String(args.contentType ?? "application/json") };
      }
      let r: Awaited<ReturnType<typeof paid>>;
      try {
        r = await paid(String(args.url), init);
      } catch (e) {
        if (e instanceof AgentPayError) throw e;
        throw new AgentPayError("CONNECTION_FAILED", `could not fetch ${String(args.url)}: ${(e as Error).message}`, { url: String(args.url) });
      }
      const { body, truncated } = await boundedText(r.response);
      const receipt = r.receipt && {
        paymentId: r.receipt.paymentId, merchantId: r.receipt.merchantId, amount: agent.toWire(r.receipt.amount),
        ...(r.receipt.approvalId ? { approvalId: r.receipt.approvalId } : {}),
        ...(r.receipt.settle && r.receipt.settle.success === false ? { refunded: true, reason: r.receipt.settle.errorReason } : {}),
      };
      return {
        status: r.response.status, contentType: r.response.headers.get("content-type") ?? undefined, body, ...(truncated ? { truncated: true } : {}),
        ...(receipt ? { paid: receipt } : { paid: null }),
        ...(r.response.status === 402 ? { next: "The resource still asks for payment in a way agentpay does not pay. Tell the user." } : {}),
      };
    },
  };
}
