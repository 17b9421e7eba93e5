// The stores a crash test runs against: the default log store in a directory, and PostgreSQL (a
// schema of its own on the tests' server). A child process gets the target as one argument.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { AgentPayOptions } from "../../src/index.ts";
import { freshSchema, pgUrl } from "./pg.ts";

export interface Target {
  name: string;
  /** A new, empty place for a ledger (under `root` for the log store), as the child's argument. */
  create(root: string): string;
}

export const targets: Target[] = [
  { name: "log store", create: (root) => { const dir = join(root, "db"); mkdirSync(dir, { recursive: true }); return dir; } },
  { name: "PostgreSQL", create: () => { pgUrl(); return `pg:${freshSchema("crash")}`; } },
];

/** The store options for a target argument ("pg:<schema>" or a directory). */
export function storeOf(target: string): Pick<AgentPayOptions, "dir" | "postgres"> {
  if (!target.startsWith("pg:")) return { dir: target };
  const url = process.env.AGENTPAY_TEST_PG_URL;
  if (!url) throw new Error("AGENTPAY_TEST_PG_URL is not set (test/helpers/pg.ts sets it for child processes)");
  return { postgres: { url, schema: target.slice(3), leaseMs: 1_000, pollMs: 50 } };
}
