// The projector: folds the log into the snapshot and the read models, a range of positions per
// transaction. Exactly once by position: the snapshot row is locked, the range starts right after its
// position, and the position moves in the same transaction as the rows it covers.
import { AgentPayError } from "../core/index.ts";
import { unpackOps } from "../engine/index.ts";
import type { PgPool } from "./driver.ts";
import type { Statements } from "./sql.ts";

/** Log rows per fold transaction: bounds its memory (rows × batch size) and its length. */
export const FOLD_ROWS = 128;

const COMMA = Buffer.from(",");
const NULL = Buffer.from("null");

/**
 * Folds the next range of the log (up to `maxRows` rows) into the snapshot and read models.
 * Returns how many log rows it folded (0: nothing new) and the snapshot's position after it.
 */
export async function fold(pool: PgPool, sql: Statements, maxRows = FOLD_ROWS): Promise<{ rows: number; position: number }> {
  const client = await pool.connect();
  let open = false;
  try {
    await client.query("BEGIN");
    open = true;
    const from = Number((await client.query<{ pos: string }>(sql.snapshotPosForUpdate)).rows[0]!.pos);
    const { rows } = await client.query<{ pos: string; ops: Buffer }>(sql.tail, [from, maxRows]);
    if (rows.length === 0) {
      await client.query("COMMIT");
      open = false;
      return { rows: 0, position: from };
    }
    // The last write of each key in the range, with its position; the values stay views into the rows.
    const latest = new Map<string, { pos: number; value: Uint8Array | undefined }>();
    let last = from;
    for (const row of rows) {
      const pos = Number(row.pos);
      if (pos !== last + 1) throw new AgentPayError("STORE_FAILURE", `the log is missing position ${last + 1} (the snapshot is at ${from})`, { position: last + 1 });
      for (const op of unpackOps(row.ops)) {
        const key = Buffer.from(op.key.buffer, op.key.byteOffset, op.key.byteLength).toString("utf8");
        latest.set(key, { pos, value: op.type === "put" ? op.value : undefined });
      }
      last = pos;
    }
    // [[key, pos, value], …] as JSON bytes: the records are JSON already and go in as they are.
    const parts: Uint8Array[] = [Buffer.from("[")];
    let first = true;
    for (const [key, { pos, value }] of latest) {
      if (!first) parts.push(COMMA);
      first = false;
      parts.push(Buffer.from(`[${JSON.stringify(key)},${pos},`), value ?? NULL, Buffer.from("]"));
    }
    parts.push(Buffer.from("]"));
    await client.query(sql.project, [Buffer.concat(parts).toString("utf8")]);
    await client.query(sql.setSnapshotPos, [last]);
    await client.query("COMMIT");
    open = false;
    return { rows: rows.length, position: last };
  } finally {
    if (open) await client.query("ROLLBACK").catch(() => {});
    client.release();
  }
}

/** fold(), returning only how many rows it folded. */
export async function projectOnce(pool: PgPool, sql: Statements, maxRows = FOLD_ROWS): Promise<number> {
  return (await fold(pool, sql, maxRows)).rows;
}

/** Removes log rows the snapshot covers once they are older than the retention. Returns how many. */
export async function truncateLog(pool: PgPool, sql: Statements, retentionMs: number): Promise<number> {
  const r = await pool.query(sql.truncate, [retentionMs]);
  return r.rowCount ?? 0;
}
