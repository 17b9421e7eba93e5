// The PostgreSQL server a benchmark runs against: AGENTPAY_BENCH_PG_URL when set, otherwise a
// throwaway cluster of its own (scripts/pg-test-cluster.sh), destroyed by `destroy()`.
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const CLUSTER = fileURLToPath(new URL("../pg-test-cluster.sh", import.meta.url));

export interface BenchServer {
  readonly url: string;
  /** True when the benchmark started the cluster itself. */
  readonly throwaway: boolean;
  destroy(): void;
}

export function benchServer(): BenchServer {
  const given = process.env.AGENTPAY_BENCH_PG_URL;
  if (given) return { url: given, throwaway: false, destroy: () => {} };
  // A directory of its own: as root the server runs as `postgres`, who must reach it.
  const dir = mkdtempSync(join(tmpdir(), "agentpay-bench-cluster-"));
  const url = execFileSync(CLUSTER, ["start", dir], { encoding: "utf8" }).trim();
  return { url, throwaway: true, destroy: () => execFileSync(CLUSTER, ["destroy", dir]) };
}
