// Versioned SQL migrations (migrations/NNN_name.sql), applied at open in one transaction under a
// lock, so nodes opening together apply each once. The schema_version table records what ran.
import { readdirSync, readFileSync } from "node:fs";
import { AgentPayError } from "../core/index.ts";
import type { PgClient, PgPoolClient } from "./driver.ts";

const DIR = new URL("./migrations/", import.meta.url);

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The migrations shipped with this version, in order; numbered 1, 2, 3, … without a gap. */
export function migrations(): Migration[] {
  const out = readdirSync(DIR)
    .map((name) => ({ name, m: /^(\d{3})_[a-z0-9_]+\.sql$/.exec(name) }))
    .filter((f) => f.m)
    .map((f) => ({ version: Number(f.m![1]), name: f.name, sql: readFileSync(new URL(f.name, DIR), "utf8") }))
    .sort((a, b) => a.version - b.version);
  out.forEach((m, i) => {
    if (m.version !== i + 1) throw new AgentPayError("INVARIANT_VIOLATION", `migration ${i + 1} is missing`, { found: m.name });
  });
  return out;
}

export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Brings `schema` to the newest version; returns it. Refuses a schema newer than this code knows. */
export async function migrate(client: PgClient | PgPoolClient, schema: string): Promise<number> {
  const all = migrations();
  const s = quoteIdent(schema);
  await client.query("BEGIN");
  try {
    // One migrator at a time per schema (a transaction-scoped lock: released at COMMIT/ROLLBACK).
    await client.query("SELECT pg_advisory_xact_lock(hashtext('agentpay-migrate'), hashtext($1))", [schema]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(`SET LOCAL search_path TO ${s}`);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_version (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ v: number | null }>("SELECT max(version) AS v FROM schema_version");
    const current = rows[0]?.v ?? 0;
    if (current > all.length) {
      throw new AgentPayError("STORE_FAILURE", `the schema ${schema} is at version ${current}, newer than this agentpay knows (${all.length}): upgrade agentpay`, {
        schema, version: current, known: all.length,
      });
    }
    for (const m of all.slice(current)) {
      await client.query(m.sql);
      await client.query("INSERT INTO schema_version (version, name) VALUES ($1, $2)", [m.version, m.name]);
    }
    await client.query("COMMIT");
    return all.length;
  } catch (e) {
    await client.query("ROLLBACK").catch(() => {});
    throw e;
  }
}
