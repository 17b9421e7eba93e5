import type { Account, Transfer } from "./types.ts";

export interface InvariantReport {
  readonly ok: boolean;
  readonly problems: readonly string[];
  readonly accounts: number;
  readonly transfers: number;
  /** Per currency: Σ debits and Σ credits, pending and posted. */
  readonly totals: Readonly<Record<string, { debitsPending: bigint; creditsPending: bigint; debitsPosted: bigint; creditsPosted: bigint }>>;
}

/**
 * Proves the ledger's invariants from scratch:
 * 1. per currency, Σ debits = Σ credits, both pending and posted;
 * 2. no account is past its limit flag;
 * 3. every account's totals equal what its transfers add up to (no lost or invented entry);
 * 4. every pending transfer is resolved at most once, and holds only while pending.
 */
export function checkLedger(accounts: Iterable<Account>, transfers: Iterable<Transfer>): InvariantReport {
  const problems: string[] = [];
  const totals: Record<string, { debitsPending: bigint; creditsPending: bigint; debitsPosted: bigint; creditsPosted: bigint }> = {};
  const expected = new Map<string, { dp: bigint; dP: bigint; cp: bigint; cP: bigint }>();
  const acc = new Map<string, Account>();
  let nAccounts = 0;
  for (const a of accounts) {
    nAccounts++;
    acc.set(a.id, a);
    expected.set(a.id, { dp: 0n, dP: 0n, cp: 0n, cP: 0n });
    const t = (totals[a.currency] ??= { debitsPending: 0n, creditsPending: 0n, debitsPosted: 0n, creditsPosted: 0n });
    t.debitsPending += a.debitsPending;
    t.creditsPending += a.creditsPending;
    t.debitsPosted += a.debitsPosted;
    t.creditsPosted += a.creditsPosted;
    if (a.debitsPending < 0n || a.creditsPending < 0n || a.debitsPosted < 0n || a.creditsPosted < 0n) {
      problems.push(`account ${a.id} has a negative total`);
    }
    if (a.flags.debitsMustNotExceedCredits && a.debitsPending + a.debitsPosted > a.creditsPosted) {
      problems.push(`account ${a.id} debits exceed credits`);
    }
    if (a.flags.creditsMustNotExceedDebits && a.creditsPending + a.creditsPosted > a.debitsPosted) {
      problems.push(`account ${a.id} credits exceed debits`);
    }
  }
  for (const [cur, t] of Object.entries(totals)) {
    if (t.debitsPending !== t.creditsPending) problems.push(`${cur}: pending debits ${t.debitsPending} != credits ${t.creditsPending}`);
    if (t.debitsPosted !== t.creditsPosted) problems.push(`${cur}: posted debits ${t.debitsPosted} != credits ${t.creditsPosted}`);
  }
  let nTransfers = 0;
  const byId = new Map<string, Transfer>();
  for (const t of transfers) {
    nTransfers++;
    byId.set(t.id, t);
  }
  for (const t of byId.values()) {
    const d = expected.get(t.debitAccountId);
    const c = expected.get(t.creditAccountId);
    if (!d || !c) {
      problems.push(`transfer ${t.id} names an unknown account`);
      continue;
    }
    if (t.kind === "single" || t.kind === "post") {
      d.dP += t.amountMinor;
      c.cP += t.amountMinor;
    } else if (t.kind === "pending" && t.state === "pending") {
      d.dp += t.amountMinor;
      c.cp += t.amountMinor;
    }
    if (t.kind === "pending" && t.state !== "pending") {
      const r = t.resolvedById ? byId.get(t.resolvedById) : undefined;
      if (!r || r.pendingId !== t.id) problems.push(`pending ${t.id} is ${t.state} without its resolving transfer`);
    }
    if (t.kind === "post" && t.pendingId) {
      const p = byId.get(t.pendingId);
      if (!p || p.resolvedById !== t.id) problems.push(`post ${t.id} does not resolve its pending transfer`);
      else if (t.amountMinor > p.amountMinor) problems.push(`post ${t.id} exceeds its hold`);
    }
  }
  for (const [id, e] of expected) {
    const a = acc.get(id)!;
    if (a.debitsPending !== e.dp || a.debitsPosted !== e.dP || a.creditsPending !== e.cp || a.creditsPosted !== e.cP) {
      problems.push(`account ${id} totals differ from its transfers`);
    }
  }
  return { ok: problems.length === 0, problems, accounts: nAccounts, transfers: nTransfers, totals };
}
