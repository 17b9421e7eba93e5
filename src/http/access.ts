// Who may see and act on what. A resource that is not the caller's answers 404, as if it did not
// exist (its existence is not the caller's business); a route for another kind of caller answers 403.
import type { AgentPay, Agent, ApprovalRequest, Payment, SubWallet, Wallet } from "../index.ts";
import { isAgentPayError } from "../index.ts";
import { apiError } from "./errors.ts";
import type { Principal } from "./principal.ts";

function hide(what: string, id: string): never {
  throw apiError("NOT_FOUND", `no such ${what}`, { id });
}

/** Runs a library getter; its *_NOT_FOUND and INVALID_ID become this API's 404 / 400. */
function got<T>(fn: () => T, what: string, id: string): T {
  try {
    return fn();
  } catch (e) {
    if (isAgentPayError(e) && e.code.endsWith("_NOT_FOUND")) hide(what, id);
    throw e;
  }
}

export function walletFor(pay: AgentPay, p: Principal, walletId: string): Wallet {
  const w = got(() => pay.wallets.get(walletId), "wallet", walletId);
  if (p.kind === "operator" || (p.kind === "person" && p.ownerId === w.ownerId)) return w;
  return hide("wallet", walletId);
}

/** Agents see a sub-wallet they hold an active grant on (and only to read its budget). */
export function subWalletFor(pay: AgentPay, p: Principal, subWalletId: string): SubWallet {
  const sw = got(() => pay.wallets.getSubWallet(subWalletId), "sub-wallet", subWalletId);
  if (p.kind === "operator" || (p.kind === "person" && p.ownerId === sw.ownerId)) return sw;
  if (p.kind === "agent" && pay.grants.list({ agentId: p.agentId, subWalletId: sw.id, activeOnly: true, limit: 1 }).length > 0) return sw;
  return hide("sub-wallet", subWalletId);
}

export function paymentFor(pay: AgentPay, p: Principal, paymentId: string): Payment {
  const pm = got(() => pay.payments.get(paymentId), "payment", paymentId);
  const mine = p.kind === "operator"
    || (p.kind === "person" && p.ownerId === pm.ownerId)
    || (p.kind === "merchant" && p.merchantId === pm.merchantId)
    || (p.kind === "agent" && p.agentId === pm.agentId);
  return mine ? pm : hide("payment", paymentId);
}

export function approvalFor(pay: AgentPay, p: Principal, approvalId: string): ApprovalRequest {
  const a = got(() => pay.approvals.get(approvalId), "approval", approvalId);
  if (p.kind === "operator" || (p.kind === "person" && p.ownerId === a.ownerId)) return a;
  return hide("approval", approvalId);
}

/** The operator manages every agent; a person the agents they registered; an agent itself. */
export function agentFor(pay: AgentPay, p: Principal, agentId: string): Agent {
  const a = got(() => pay.agents.get(agentId), "agent", agentId);
  if (p.kind === "operator" || (p.kind === "person" && a.ownerId === p.ownerId) || (p.kind === "agent" && p.agentId === a.id)) return a;
  return hide("agent", agentId);
}

export function merchantFor(pay: AgentPay, p: Principal, merchantId: string) {
  const m = got(() => pay.merchants.get(merchantId), "merchant", merchantId);
  if (p.kind === "operator" || (p.kind === "merchant" && p.merchantId === m.id)) return m;
  return hide("merchant", merchantId);
}

export { got };
