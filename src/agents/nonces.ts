import { AgentPayError } from "../core/index.ts";
import type { Tx } from "../engine/index.ts";
import { NONCE_FLOOR_KEY, NONCE_PREFIX, nonceKey } from "./types.ts";
import type { NonceFloor, NonceRecord } from "./types.ts";

/**
 * Records an intent's nonce inside the engine command that acts on the intent, so a
 * replay is refused even across restarts (the record is persisted with the command's
 * other writes, or not at all). Also re-checks the intent's age against `tx.nowMs`.
 * Throws INTENT_EXPIRED (too old, too far in the future, or older than what was pruned)
 * or INTENT_REPLAYED.
 */
export function consumeNonce(tx: Tx, agentId: string, nonce: string, iatMs: number, maxAgeMs: number): NonceRecord {
  if (!Number.isFinite(iatMs) || Math.abs(tx.nowMs - iatMs) > maxAgeMs) {
    throw new AgentPayError("INTENT_EXPIRED", "the intent is too old or dated in the future", { agentId, maxAgeMs });
  }
  const floor = tx.get<NonceFloor>(NONCE_FLOOR_KEY);
  if (floor && iatMs < floor.floorMs) {
    throw new AgentPayError("INTENT_EXPIRED", "the intent is older than the replay window kept", { agentId });
  }
  const key = nonceKey(agentId, nonce);
  if (tx.has(key)) throw new AgentPayError("INTENT_REPLAYED", "this intent was already used", { agentId });
  const rec: NonceRecord = { agentId, iatMs };
  tx.put(key, rec);
  return rec;
}

/**
 * Deletes the given nonce records that can no longer matter (an intent that old is
 * refused anyway) and raises the floor so it stays refused whatever `maxAgeMs` is
 * later configured. Pure over the Tx; the caller bounds `keys`. Returns the keys still young.
 */
export function pruneNonces(tx: Tx, keys: readonly string[], maxAgeMs: number): { deleted: number; kept: string[] } {
  const cutoffMs = tx.nowMs - maxAgeMs;
  let deleted = 0;
  let maxIat = -Infinity;
  const kept: string[] = [];
  for (const key of keys) {
    if (!key.startsWith(NONCE_PREFIX) || key === NONCE_FLOOR_KEY) continue;
    const rec = tx.get<NonceRecord>(key);
    if (!rec) continue;
    if (rec.iatMs < cutoffMs) {
      tx.del(key);
      deleted += 1;
      if (rec.iatMs > maxIat) maxIat = rec.iatMs;
    } else {
      kept.push(key);
    }
  }
  if (deleted > 0) {
    const floor = tx.get<NonceFloor>(NONCE_FLOOR_KEY);
    const floorMs = maxIat + 1;
    if (!floor || floor.floorMs < floorMs) tx.put(NONCE_FLOOR_KEY, { floorMs } satisfies NonceFloor);
  }
  return { deleted, kept };
}

