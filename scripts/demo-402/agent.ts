// The demo's agent: its own process, holding its key, paying the merchant's 402s through agentpay's HTTP
// API with fetchWithPayment under a grant. It reports each step as a JSON line on stdout.
import { amount, isAgentPayError } from "../../src/index.ts";
import { fetchWithPayment } from "../../src/x402/index.ts";
import { httpPayer } from "./http-payer.ts";

const say = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
const cfg = JSON.parse(process.env.AGENT_CONFIG ?? "{}") as { agentpayUrl: string; merchantUrl: string; agentId: string; privateKeyJwk: Record<string, unknown>; subWalletId: string; calls: string[] };
const payer = await httpPayer(cfg.agentpayUrl, cfg.agentId, cfg.privateKeyJwk);
const paid = fetchWithPayment(fetch, payer, {
  subWalletId: cfg.subWalletId, maxAmount: amount("1.00", "USD"), approvalTimeoutMs: 30_000,
  onEvent: (e) => {
    if (e.kind === "payment_required") say({ event: "payment_required", url: e.url, offers: e.offers.map((o) => ({ scheme: o.scheme, network: o.network, amount: o.amount, asset: o.asset })) });
    if (e.kind === "pending_approval") say({ event: "pending_approval", url: e.url, paymentId: e.paymentId, approvalId: e.approvalId });
    if (e.kind === "approved") say({ event: "approved", url: e.url, paymentId: e.paymentId });
  },
});
for (const path of cfg.calls) {
  const url = `${cfg.merchantUrl}${path}`;
  say({ event: "call", path });
  try {
    const { response, receipt } = await paid(url);
    say({
      event: "result", path, status: response.status, body: await response.json(),
      ...(receipt ? { paymentId: receipt.paymentId, amountMinor: receipt.amount.minor.toString(), settle: receipt.settle, approvalId: receipt.approvalId } : {}),
    });
  } catch (e) {
    if (!isAgentPayError(e)) throw e;
    say({ event: "refused", path, code: e.code, message: e.message, details: JSON.parse(JSON.stringify(e.details, (_k, v) => (typeof v === "bigint" ? v.toString() : v))) });
  }
  const budget = await payer.get(`/v1/sub-wallets/${cfg.subWalletId}/budget`) as { daily: { used: { value: string }; remaining?: { value: string }; limit?: { value: string } } };
  say({ event: "budget", path, daily: budget.daily });
}
say({ event: "done" });
