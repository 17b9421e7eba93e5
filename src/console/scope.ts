// Who may see and act on what, in the console: a person sees their own wallets, sub-wallets,
// payments, approvals and the agents acting on them; the operator sees everyone's. Anything else
// answers "not found", as if it did not exist (the HTTP API's rule too).
import { isAgentPayError } from "../index.ts";
import type { Agent, AgentPay, ApprovalRequest, Payment, SubWallet, Wallet } from "../index.ts";
import type { ConsolePrincipal } from "./sessions.ts";

export class NotVisible extends Error {
  readonly what: string;
  constructor(what: string) {
    super(`no such ${what}`);
    this.what = what;
  }
}

const OWNER_RE = /^[A-Za-z0-9._:~\-/]{1,128}$/;

/** An owner id from a query (operators pick whose wallets to look at), or undefined. */
export function ownerParam(v: string | undefined): string | undefined {
  return v !== undefined && OWNER_RE.test(v) ? v : undefined;
}

/** The owner a page is about: a person's own; for the operator, the one asked for (or none: all). */
export function ownerScope(p: ConsolePrincipal, asked: string | undefined): string | undefined {
  return p.kind === "person" ? p.ownerId : ownerParam(asked);
}

export function mayActFor(p: ConsolePrincipal, ownerId: string | undefined): boolean {
  return p.kind === "operator" || (ownerId !== undefined && p.ownerId === ownerId);
}

function got<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isAgentPayError(e) && (e.code.endsWith("_NOT_FOUND") || e.code === "INVALID_ID" || e.code === "INVALID_INPUT")) throw new NotVisible(what);
    throw e;
  }
}

export function approvalFor(pay: AgentPay, p: ConsolePrincipal, id: string): ApprovalRequest {
  const a = got("approval", () => pay.approvals.get(id));
  if (!mayActFor(p, a.ownerId)) throw new NotVisible("approval");
  return a;
}

export function paymentFor(pay: AgentPay, p: ConsolePrincipal, id: string): Payment {
  const pm = got("payment", () => pay.payments.get(id));
  if (!mayActFor(p, pm.ownerId)) throw new NotVisible("payment");
  return pm;
}

export function subWalletFor(pay: AgentPay, p: ConsolePrincipal, id: string): SubWallet {
  const sw = got("sub-wallet", () => pay.wallets.getSubWallet(id));
  if (!mayActFor(p, sw.ownerId)) throw new NotVisible("sub-wallet");
  return sw;
}

export function walletsOf(pay: AgentPay, ownerId: string): Wallet[] {
  return got("wallet", () => pay.wallets.list({ ownerId }));
}

/** Every sub-wallet of an owner, wallet by wallet. */
export function subWalletsOf(pay: AgentPay, ownerId: string): Array<{ wallet: Wallet; subWallets: SubWallet[] }> {
  return walletsOf(pay, ownerId).map((wallet) => ({ wallet, subWallets: pay.wallets.listSubWallets(wallet.id) }));
}

/** An agent, if the caller may see it: the operator always; a person when it registered it or it holds a grant on their sub-wallets. */
export function agentFor(pay: AgentPay, p: ConsolePrincipal, id: string): Agent {
  const a = got("agent", () => pay.agents.get(id));
  if (p.kind === "operator" || a.ownerId === p.ownerId) return a;
  const mine = new Set(subWalletsOf(pay, p.ownerId).flatMap((w) => w.subWallets.map((s) => s.id)));
  if (pay.grants.list({ agentId: a.id, limit: 1000 }).some((g) => mine.has(g.subWalletId))) return a;
  throw new NotVisible("agent");
}

/** A name for an id that may not resolve (an agent or merchant removed, or not visible). */
export function nameOr<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}
