import type { Grant, Grants } from "../agents/index.ts";
import type { Engine } from "../engine/index.ts";
import { appendEvent, notificationsFor } from "../events/index.ts";
import { getSubWalletIn, subWalletKey } from "../wallets/index.ts";
import type { SubWallet } from "../wallets/index.ts";

/** The longest "grant about to expire" warning a rule may ask for (the events module's cap). */
const MAX_LOOKAHEAD_MS = 366 * 86_400_000;
const MAX_PER_RUN = 500;

const noticeKey = (grantId: string): string => `gn/${grantId}`;

/**
 * Queues the person's "grant about to expire" notifications: each grant is announced once,
 * when it enters the window of a sub-wallet's `grant_expiring` rule. Bounded per run.
 */
export async function notifyExpiringGrants(engine: Engine, grants: Grants): Promise<number> {
  const nowMs = engine.clock.nowMs();
  // Only grants that are due a notice count against the per-run limit.
  const due = (g: Grant): boolean => {
    if (engine.read(noticeKey(g.id)) !== undefined || g.expiresAtMs === undefined) return false;
    const rules = engine.read<SubWallet>(subWalletKey(g.subWalletId))?.policy.notify ?? [];
    return rules.some((r) => (r as { when?: string }).when === "grant_expiring" && g.expiresAtMs! - nowMs <= (r as { withinMs: number }).withinMs);
  };
  const soon: Grant[] = grants.expiringWithin(MAX_LOOKAHEAD_MS, { limit: MAX_PER_RUN, nowMs, where: due });
  if (soon.length === 0) return 0;
  return engine.submit((tx) => {
    let n = 0;
    for (const g of soon) {
      if (tx.has(noticeKey(g.id)) || g.expiresAtMs === undefined) continue;
      const sw = tx.has(subWalletKey(g.subWalletId)) ? getSubWalletIn(tx, g.subWalletId) : undefined;
      const rules = sw?.policy.notify;
      if (!sw || !rules || rules.length === 0) continue;
      const out = notificationsFor(rules, {
        kind: "grant_expiring", expiresAtMs: g.expiresAtMs, nowMs: tx.nowMs,
        subject: { grantId: g.id, agentId: g.agentId, subWalletId: sw.id, walletId: sw.walletId },
      });
      if (out.length === 0) continue;
      for (const e of out) appendEvent(tx, e);
      tx.put(noticeKey(g.id), { atMs: tx.nowMs });
      n++;
    }
    return n;
  });
}
