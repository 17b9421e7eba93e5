// npm run bench:shards — the sharding plan of docs/SCALING.md, measured where one machine allows:
// 1 and then 2 shards, each its own engine process leading its own PostgreSQL database, paying among
// the accounts a router assigns to it by wallet id; the throughput of each, and the router's cost.
// On one 2-core machine the shards share the cores (and the server): the figures show what one
// shard does and what splitting costs, not what two machines would do.
//
// Environment: AGENTPAY_BENCH_PG_URL (else a throwaway cluster), BENCH_SECONDS (default 10).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { benchServer } from "./pg-cluster.ts";
import { shardOf } from "./router.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CALLERS = 1_000;
const ACCOUNTS = 10_000;
const SHARD = fileURLToPath(new URL("./pg-shard.ts", import.meta.url));

const root = mkdtempSync(join(tmpdir(), "agentpay-bench-shards-"));
const server = benchServer();
const url = server.url;

/** The URL of database `db` on the same server. */
function databaseUrl(db: string): string {
  // (not WHATWG URL: a unix-socket URL has no host, "postgres://user@/db?host=/dir")
  return url.replace(/^(postgres(?:ql)?:\/\/[^/]*)\/[^?]*/, `$1/${db}`);
}

async function admin(text: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

interface ShardResult { transfers: number; failures: number; per_s: number; invariants: boolean }

/** `shards` processes, each on its own database, started together. */
async function run(shards: number): Promise<ShardResult[]> {
  const wallets = Array.from({ length: ACCOUNTS }, (_, i) => `wal_${i.toString(36).padStart(6, "0")}`);
  const parts: string[][] = Array.from({ length: shards }, () => []);
  for (const w of wallets) parts[shardOf(w, shards)]!.push(w);
  const children = await Promise.all(parts.map(async (ids, i) => {
    const db = `agentpay_${shards}_${i}_${process.pid}`;
    await admin(`CREATE DATABASE ${db}`);
    const file = join(root, `${db}.json`);
    writeFileSync(file, JSON.stringify(ids));
    const child = spawn(process.execPath, [SHARD, databaseUrl(db), file, String(Math.round(CALLERS / shards)), String(SECONDS)], { stdio: ["pipe", "pipe", "inherit"] });
    const lines: string[] = [];
    let buf = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    const exited = new Promise<number | null>((r) => child.once("exit", r));
    while (!lines.includes("ready")) {
      if (child.exitCode !== null) throw new Error(`shard ${i} exited`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return { child, lines, exited };
  }));
  for (const c of children) c.child.stdin!.end("go\n");
  const results: ShardResult[] = [];
  for (const c of children) {
    await c.exited;
    results.push(JSON.parse(c.lines.at(-1)!) as ShardResult);
  }
  return results;
}

/** ns per routing decision (FNV-1a of the wallet id, then the bucket directory), over 100,000 ids. */
function routerNs(shards: number): number {
  const ids = Array.from({ length: 100_000 }, (_, i) => `wal_${i.toString(36).padStart(6, "0")}`);
  let sink = 0;
  for (const id of ids) sink += shardOf(id, shards); // warm-up
  const rounds = 20;
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) for (const id of ids) sink += shardOf(id, shards);
  const ns = Number(process.hrtime.bigint() - t0) / (rounds * ids.length);
  if (sink < 0) console.log(sink);
  return ns;
}

try {
  const one = await run(1);
  console.log(`1 shard: ${one[0]!.per_s} durable transfers/s (${one[0]!.transfers} in ${SECONDS} s, invariants ${one[0]!.invariants ? "hold" : "BROKEN"})`);
  const two = await run(2);
  const total = two.reduce((s, r) => s + r.per_s, 0);
  console.log(`2 shards on the same 2 cores: ${two.map((r) => `${r.per_s}/s`).join(" + ")} = ${total}/s (invariants ${two.every((r) => r.invariants) ? "hold" : "BROKEN"})`);
  const ns = routerNs(2);
  const perTransferNs = 1e9 / one[0]!.per_s;
  console.log(`router: ${ns.toFixed(0)} ns per decision, ${(100 * ns / perTransferNs).toFixed(3)}% of one shard's time per transfer`);
  console.log(JSON.stringify({
    one_shard_per_s: one[0]!.per_s,
    two_shards_per_s: two.map((r) => r.per_s),
    two_shards_total_per_s: total,
    scaling: Number((total / one[0]!.per_s).toFixed(3)),
    router_ns: Number(ns.toFixed(1)),
    router_share: Number((ns / perTransferNs).toFixed(6)),
  }));
  if (![...one, ...two].every((r) => r.invariants)) process.exitCode = 1;
} finally {
  server.destroy();
  rmSync(root, { recursive: true, force: true });
}
