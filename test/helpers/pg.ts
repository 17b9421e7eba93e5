// A real PostgreSQL server for the tests. AGENTPAY_TEST_PG_URL when set (.ci/run starts a cluster and
// sets it); otherwise a throwaway cluster started here on first use (scripts/pg-test-cluster.sh: Debian's
// server binaries, a unix socket in a temp dir) and removed when the test process exits. Each test
// takes a schema of its own, so tests never see each other's ledgers.
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

export const CLUSTER_SCRIPT = fileURLToPath(new URL("../../scripts/pg-test-cluster.sh", import.meta.url));

let shared: string | undefined;

/** The connection URL of the tests' server, starting a throwaway cluster if none was given. */
export function pgUrl(): string {
  if (shared) return shared;
  const given = process.env.AGENTPAY_TEST_PG_URL;
  if (given) return (shared = given);
  const cluster = new TestCluster();
  process.on("exit", () => cluster.destroy());
  shared = cluster.start();
  // Child processes (crash tests) use the same server.
  process.env.AGENTPAY_TEST_PG_URL = shared;
  return shared;
}

/** A schema name no other test uses. */
export function freshSchema(prefix = "t"): string {
  return `${prefix}_${randomBytes(6).toString("hex")}`;
}

/** Runs one SQL text on `url` and returns its rows (a short-lived client: for checks in tests). */
export async function sql<T = Record<string, unknown>>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text, values)).rows as T[];
  } finally {
    await c.end();
  }
}

/** A cluster of its own, for tests that stop and start the server under load. */
export class TestCluster {
  readonly dir = mkdtempSync(join(tmpdir(), "agentpay-pg-"));

  start(): string {
    return execFileSync(CLUSTER_SCRIPT, ["start", this.dir], { encoding: "utf8" }).trim();
  }

  /** Immediate shutdown: what a crash of the server looks like to its clients. */
  kill(): void {
    execFileSync(CLUSTER_SCRIPT, ["kill", this.dir]);
  }

  stop(): void {
    execFileSync(CLUSTER_SCRIPT, ["stop", this.dir]);
  }

  destroy(): void {
    spawnSync(CLUSTER_SCRIPT, ["destroy", this.dir]);
  }
}
