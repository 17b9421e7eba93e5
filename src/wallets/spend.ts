import { AgentPayError } from "../core/index.ts";
import type { Tx } from "../engine/index.ts";
import { addUsage, budgetStatus, emptyUsage, evaluatePolicy, removeUsage } from "./policy/index.ts";
import type { BudgetStatus, PolicyIntent, Usage, Verdict } from "./policy/index.ts";
import { subWalletKey, usageKey, walletKey } from "./records.ts";
import type { SubWallet, Wallet } from "./records.ts";

/*
 * What the payment flow calls INSIDE its engine command, so the policy is checked
 * against the live usage and the usage changes in the same atomic batch as the hold.
 */

export function getWalletIn(tx: Tx, id: string): Wallet {
  const w = tx.get<Wallet>(walletKey(id));
  if (!w) throw new AgentPayError("WALLET_NOT_FOUND", "no such wallet", { walletId: id });
  return w;
}

export function getSubWalletIn(tx: Tx, id: string): SubWallet {
  const sw = tx.get<SubWallet>(subWalletKey(id));
  if (!sw) throw new AgentPayError("SUBWALLET_NOT_FOUND", "no such sub-wallet", { subWalletId: id });
  return sw;
}

/** A sub-wallet that can pay now: exists, not frozen, not closed. */
export function activeSubWalletIn(tx: Tx, id: string): SubWallet {
  const sw = getSubWalletIn(tx, id);
  if (sw.status === "frozen") throw new AgentPayError("SUBWALLET_FROZEN", "the sub-wallet is frozen", { subWalletId: id });
  if (sw.status === "closed") throw new AgentPayError("SUBWALLET_CLOSED", "the sub-wallet is closed", { subWalletId: id });
  return sw;
}

export function usageIn(tx: Tx, subWalletId: string): Usage {
  return tx.get<Usage>(usageKey(subWalletId)) ?? emptyUsage();
}

/** The policy's verdict on an intent against the live usage; records the policy version. */
export function evaluateIn(tx: Tx, sw: SubWallet, intent: PolicyIntent): Verdict {
  const verdict = evaluatePolicy(sw.policy, usageIn(tx, sw.id), intent, sw.timeZone);
  return { ...verdict, policyVersion: sw.policy.version ?? 1 };
}

/** Counts a payment against the sub-wallet's budgets. */
export function recordSpendIn(tx: Tx, sw: SubWallet, amountMinor: bigint, atMs: number): Usage {
  const next = addUsage(usageIn(tx, sw.id), { amountMinor, atMs }, sw.timeZone);
  tx.put(usageKey(sw.id), next);
  return next;
}

/** Gives budget back for a refund (or a void, with cancelsPayment). */
export function restoreSpendIn(
  tx: Tx, sw: SubWallet, amountMinor: bigint, originalAtMs: number, cancelsPayment = false,
): Usage {
  const next = removeUsage(usageIn(tx, sw.id), { amountMinor, atMs: tx.nowMs, originalAtMs, cancelsPayment }, sw.timeZone);
  tx.put(usageKey(sw.id), next);
  return next;
}

export function budgetStatusIn(tx: Tx, sw: SubWallet, atMs: number): BudgetStatus {
  return budgetStatus(sw.policy, usageIn(tx, sw.id), atMs, sw.timeZone);
}
