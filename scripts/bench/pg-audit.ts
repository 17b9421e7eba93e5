// After a failover: what the killed leader (scripts/bench/pg-node.ts) acknowledged, checked on the
// node that took over, and every request it started retried there with its own idempotency keys.
// Used by bench:pg (it counts) and test/postgres/faults.test.ts (it asserts the counts are zero).
import { amount, isAgentPayError } from "../../src/index.ts";
import type { AgentPay, Payment, Transfer } from "../../src/index.ts";

export interface NodeSetup { subWallet: string; merchant: string; agentId: string; jwk: Record<string, unknown> }

export interface FailoverAudit {
  /** Payments the old leader acknowledged. */
  acked: number;
  /** Acknowledged but missing on the new leader, or in an earlier state than acknowledged. */
  lostAcked: number;
  /** Requests the old leader started (acknowledged or not), retried on the new leader. */
  retried: number;
  /** Anything applied twice: a second payment for a key, a second capture of a hold, a token redeemed twice, money off. */
  doubleApplied: number;
  /** Ledger invariant problems on the new leader after the retries. */
  ledgerProblems: number;
}

/** `lines`: the old leader's output, split into words. */
export async function auditFailover(pay: AgentPay, lines: readonly string[][], setup: NodeSetup): Promise<FailoverAudit> {
  const acked = new Map<string, { paymentId: string; captured: boolean }>();
  for (const l of lines) {
    if (l[0] !== "ack") continue;
    const prior = acked.get(l[1]!);
    acked.set(l[1]!, { paymentId: l[2]!, captured: prior?.captured === true || l[3] === "captured" });
  }
  let lostAcked = 0;
  for (const [key, a] of acked) {
    const p = pay.engine.read<Payment>(`pm/${a.paymentId}`);
    const ok = p !== undefined && p.idempotencyKey === key && (a.captured ? p.status === "captured" : p.status === "authorized" || p.status === "captured");
    if (!ok) lostAcked++;
  }
  let doubleApplied = 0;
  const client = pay.agentClient({ agentId: setup.agentId, privateKeyJwk: setup.jwk });
  const tried = lines.filter((l) => l[0] === "try") as Array<[string, string, string]>;
  for (const [, key, minor] of tried) {
    const r = await client.requestPayment({ subWalletId: setup.subWallet, merchantId: setup.merchant, amount: amount(BigInt(minor), "USD"), idempotencyKey: key });
    if (acked.has(key) && r.paymentId !== acked.get(key)!.paymentId) doubleApplied++;
    if (r.status !== "approved") continue;
    const receipt = await pay.payments.redeem({ token: r.token, merchantId: setup.merchant, amount: amount(90n, "USD"), idempotencyKey: `cap-${key}` });
    if (receipt.paymentId !== r.paymentId) doubleApplied++;
    // The same token under a new key must be refused: it was redeemed once.
    const again = await pay.payments.redeem({ token: r.token, merchantId: setup.merchant, amount: amount(90n, "USD"), idempotencyKey: `other-${key}` }).catch((e: unknown) => e);
    if (!isAgentPayError(again, "TOKEN_ALREADY_REDEEMED")) doubleApplied++;
  }
  const payments = [...pay.engine.scan<Payment>("pm/")].map(([, p]) => p);
  const perKey = new Map<string, number>();
  for (const p of payments) perKey.set(p.idempotencyKey, (perKey.get(p.idempotencyKey) ?? 0) + 1);
  for (const n of perKey.values()) doubleApplied += n - 1;
  const posts = [...pay.engine.scan<Transfer>("tr/")].map(([, t]) => t).filter((t) => t.kind === "post");
  doubleApplied += posts.length - new Set(posts.map((t) => t.pendingId)).size;
  const captured = BigInt(payments.filter((p) => p.status === "captured").length);
  const merchantMinor = pay.merchants.balanceMinor(setup.merchant, "USD");
  if (merchantMinor !== 90n * captured) doubleApplied += Math.max(1, Number((merchantMinor - 90n * captured) / 90n));
  return { acked: acked.size, lostAcked, retried: tried.length, doubleApplied, ledgerProblems: pay.ledger.check().problems.length };
}
