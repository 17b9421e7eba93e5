// The statements agentpay runs against its schema. The schema name is validated (options.ts) and
// quoted; every value is a parameter.
import { quoteIdent } from "./migrate.ts";

export type Statements = ReturnType<typeof statements>;

/** Advisory lock keys: a fixed class for agentpay leases, and the schema's hash. */
export const LEASE_LOCK_CLASS = 0x61677079; // "agpy"

export function statements(schema: string) {
  const s = quoteIdent(schema);
  return {
    channel: `agentpay_${schema}`,
    /**
     * One group-committed batch, written only if `epoch` is still the lease's (the fence). FOR SHARE
     * holds the lease row until commit, so a takeover (an UPDATE of that row) waits for a write in
     * flight and a write after a takeover sees the new epoch: either way, no row of an old epoch
     * lands after a newer leader has read the log. No row returned: fenced.
     */
    append: `WITH ok AS (SELECT 1 FROM ${s}.lease WHERE id = 1 AND epoch = $2 FOR SHARE),
      ins AS (INSERT INTO ${s}.log (pos, epoch, ops) SELECT $1, $2, $3 FROM ok RETURNING pos)
      SELECT pg_notify($4, pos::text) FROM ins`,
    readLease: `SELECT epoch, holder, locked, expires_at <= now() AS expired FROM ${s}.lease WHERE id = 1`,
    /** A takeover: compare-and-set on the epoch seen, so of two standbys racing only one wins. */
    takeover: `UPDATE ${s}.lease SET epoch = epoch + 1, holder = $2, locked = $3, expires_at = now() + $4 * interval '1 millisecond'
      WHERE id = 1 AND epoch = $1 RETURNING epoch`,
    renew: `UPDATE ${s}.lease SET expires_at = now() + $2 * interval '1 millisecond', locked = $3 WHERE id = 1 AND epoch = $1`,
    /** A clean step-down: the lease ends now, so a standby takes over without waiting for it to expire. */
    resign: `UPDATE ${s}.lease SET expires_at = now(), locked = false WHERE id = 1 AND epoch = $1`,
    tryLock: "SELECT pg_try_advisory_lock($1, $2) AS got",
    unlock: "SELECT pg_advisory_unlock($1, $2)",
    /** Sessions (other than ours) holding this schema's lease lock: a paused old leader's. */
    lockHolders: `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = $1::oid AND objid = $2::oid
      AND objsubid = 2 AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND pid <> pg_backend_pid()`,
    tail: `SELECT pos, ops FROM ${s}.log WHERE pos > $1 ORDER BY pos LIMIT $2`,
    maxPos: `SELECT coalesce(max(pos), 0) AS pos FROM ${s}.log`,
    snapshotPos: `SELECT pos FROM ${s}.snapshot WHERE id = 1`,
    snapshotPosForUpdate: `SELECT pos FROM ${s}.snapshot WHERE id = 1 FOR UPDATE`,
    snapshotCursor: `DECLARE agentpay_load NO SCROLL CURSOR FOR SELECT key, value FROM ${s}.snapshot_record ORDER BY key`,
    setSnapshotPos: `UPDATE ${s}.snapshot SET pos = $1, updated_at = now() WHERE id = 1`,
    /** Log rows the snapshot covers, older than the retention; the newest row always stays (dense positions). */
    truncate: `DELETE FROM ${s}.log WHERE pos <= (SELECT pos FROM ${s}.snapshot WHERE id = 1)
      AND committed_at < now() - $1 * interval '1 millisecond' AND pos < (SELECT max(pos) FROM ${s}.log)`,
    /**
     * Folds a range of the log into the snapshot and the read models, in one statement. $1 is a JSON
     * array of [key, pos, value] with one entry per key (its last write in the range); value null is
     * a deletion. Read-model rows are only overwritten by a later position (log_pos), and the
     * caller moves snapshot.pos in the same transaction: each position is projected exactly once.
     * Deletions leave read-model rows alone (history outlives the engine's copy, e.g. pruned events).
     */
    project: `WITH input AS MATERIALIZED (
        SELECT e ->> 0 AS key, (e ->> 1)::bigint AS pos, e -> 2 AS val FROM json_array_elements($1::json) AS e
      ),
      gone AS (DELETE FROM ${s}.snapshot_record r USING input i WHERE r.key = i.key AND json_typeof(i.val) = 'null'),
      kept AS (
        INSERT INTO ${s}.snapshot_record (key, value) SELECT key, val::text FROM input WHERE json_typeof(val) <> 'null'
        ON CONFLICT (key) DO UPDATE SET value = excluded.value
      ),
      rec AS MATERIALIZED (
        SELECT left(key, 3) AS kind, pos, val::jsonb AS v FROM input
        WHERE json_typeof(val) = 'object' AND left(key, 3) IN ('ac/', 'tr/', 'pm/', 'ap/', 'ev/')
      ),
      acc AS (
        INSERT INTO ${s}.accounts AS t (id, currency, debits_pending, debits_posted, credits_pending, credits_posted,
          debits_must_not_exceed_credits, credits_must_not_exceed_debits, closed, code, metadata, created_at, log_pos)
        SELECT v ->> 'id', v ->> 'currency', ${s}.minor(v -> 'debitsPending'), ${s}.minor(v -> 'debitsPosted'),
          ${s}.minor(v -> 'creditsPending'), ${s}.minor(v -> 'creditsPosted'),
          coalesce((v -> 'flags' ->> 'debitsMustNotExceedCredits')::boolean, false),
          coalesce((v -> 'flags' ->> 'creditsMustNotExceedDebits')::boolean, false),
          coalesce((v ->> 'closed')::boolean, false), v ->> 'code', v -> 'metadata', ${s}.ms_time(v -> 'createdAtMs'), pos
        FROM rec WHERE kind = 'ac/'
        ON CONFLICT (id) DO UPDATE SET debits_pending = excluded.debits_pending, debits_posted = excluded.debits_posted,
          credits_pending = excluded.credits_pending, credits_posted = excluded.credits_posted, closed = excluded.closed,
          code = excluded.code, metadata = excluded.metadata, log_pos = excluded.log_pos
        WHERE t.log_pos < excluded.log_pos
      ),
      tra AS (
        INSERT INTO ${s}.transfers AS t (id, seq, kind, debit_account_id, credit_account_id, amount_minor, currency, pending_id,
          state, resolved_by_id, expires_at, debit_balance_after, credit_balance_after, code, metadata, created_at, log_pos)
        SELECT v ->> 'id', (v ->> 'seq')::bigint, v ->> 'kind', v ->> 'debitAccountId', v ->> 'creditAccountId',
          ${s}.minor(v -> 'amountMinor'), v ->> 'currency', v ->> 'pendingId', v ->> 'state', v ->> 'resolvedById',
          ${s}.ms_time(v -> 'expiresAtMs'), ${s}.minor(v -> 'debitBalanceAfter'), ${s}.minor(v -> 'creditBalanceAfter'),
          v ->> 'code', v -> 'metadata', ${s}.ms_time(v -> 'createdAtMs'), pos
        FROM rec WHERE kind = 'tr/'
        ON CONFLICT (id) DO UPDATE SET state = excluded.state, resolved_by_id = excluded.resolved_by_id, log_pos = excluded.log_pos
        WHERE t.log_pos < excluded.log_pos
      ),
      pay AS (
        INSERT INTO ${s}.payments AS t (id, status, owner_id, wallet_id, sub_wallet_id, agent_id, grant_id, merchant_id, category,
          amount_minor, currency, reference, decision, approval_id, hold_transfer_id, capture_transfer_id, captured_minor,
          refunded_minor, created_at, authorized_at, captured_at, resolved_at, log_pos)
        SELECT v ->> 'id', v ->> 'status', v ->> 'ownerId', v ->> 'walletId', v ->> 'subWalletId', v ->> 'agentId', v ->> 'grantId',
          v ->> 'merchantId', v ->> 'category', ${s}.minor(v -> 'amountMinor'), v ->> 'currency', v ->> 'reference',
          v -> 'decision' ->> 'outcome', v ->> 'approvalId', v ->> 'holdTransferId', v ->> 'captureTransferId',
          ${s}.minor(v -> 'capturedMinor'), ${s}.minor(v -> 'refundedMinor'), ${s}.ms_time(v -> 'createdAtMs'),
          ${s}.ms_time(v -> 'authorizedAtMs'), ${s}.ms_time(v -> 'capturedAtMs'), ${s}.ms_time(v -> 'resolvedAtMs'), pos
        FROM rec WHERE kind = 'pm/'
        ON CONFLICT (id) DO UPDATE SET status = excluded.status, grant_id = excluded.grant_id, decision = excluded.decision,
          approval_id = excluded.approval_id, hold_transfer_id = excluded.hold_transfer_id,
          capture_transfer_id = excluded.capture_transfer_id, captured_minor = excluded.captured_minor,
          refunded_minor = excluded.refunded_minor, authorized_at = excluded.authorized_at, captured_at = excluded.captured_at,
          resolved_at = excluded.resolved_at, log_pos = excluded.log_pos
        WHERE t.log_pos < excluded.log_pos
      ),
      apr AS (
        INSERT INTO ${s}.approvals AS t (id, status, owner_id, sub_wallet_id, agent_id, subject_kind, subject_id, summary, reasons,
          created_at, expires_at, resolved_at, resolved_by, log_pos)
        SELECT v ->> 'id', v ->> 'status', v ->> 'ownerId', v ->> 'subWalletId', v ->> 'agentId', v -> 'subject' ->> 'kind',
          v -> 'subject' ->> 'id', v -> 'summary', v -> 'reasons', ${s}.ms_time(v -> 'createdAtMs'), ${s}.ms_time(v -> 'expiresAtMs'),
          ${s}.ms_time(v -> 'resolvedAtMs'), v ->> 'resolvedBy', pos
        FROM rec WHERE kind = 'ap/'
        ON CONFLICT (id) DO UPDATE SET status = excluded.status, resolved_at = excluded.resolved_at,
          resolved_by = excluded.resolved_by, log_pos = excluded.log_pos
        WHERE t.log_pos < excluded.log_pos
      ),
      evt AS (
        INSERT INTO ${s}.events (id, type, created_at, subject, data, log_pos)
        SELECT v ->> 'id', v ->> 'type', ${s}.ms_time(v -> 'createdAtMs'), coalesce(v -> 'subject', '{}'::jsonb), v -> 'data', pos
        FROM rec WHERE kind = 'ev/'
        ON CONFLICT (id) DO NOTHING
      )
      SELECT count(*)::int AS n FROM input`,
  };
}
