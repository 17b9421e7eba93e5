// npm run bench:ledger — durable transfers through the engine vs raw LevelDB sync batches.
// Last line: one JSON object with the figures the foundation issue asks for.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Level } from "level";
import { AgentPay, LevelStore, amount } from "../../src/index.ts";
import type { Store } from "../../src/index.ts";

const DURATION_MS = Number(process.env.BENCH_SECONDS ?? 10) * 1000;
const CALLERS = 1_000;
const ACCOUNTS = 10_000;

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

async function rawLevelSyncPutsPerSec(dir: string, seconds: number): Promise<number> {
  const db = new Level<string, string>(dir, { valueEncoding: "utf8" });
  await db.open();
  const value = JSON.stringify({ id: "x".repeat(24), debits: "123456", credits: "654321", flags: {} });
  let puts = 0;
  let i = 0;
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  while (performance.now() < end) {
    const ops = [];
    for (let k = 0; k < 100; k++) ops.push({ type: "put" as const, key: `k${(i++ % 100_000).toString().padStart(6, "0")}`, value });
    await db.batch(ops, { sync: true });
    puts += 100;
  }
  const rate = puts / ((performance.now() - start) / 1000);
  await db.close();
  return rate;
}

/** Wraps the LevelDB store to time each group-commit write (the fsync'd batch). */
function timedStore(dir: string, writeMs: number[]): Store {
  const inner = new LevelStore(dir);
  return {
    open: () => inner.open(),
    entries: () => inner.entries(),
    close: () => inner.close(),
    async write(ops) {
      const t0 = performance.now();
      await inner.write(ops);
      writeMs.push(performance.now() - t0);
    },
  };
}

async function durableTransfers(dir: string) {
  const writeMs: number[] = [];
  const pay = await AgentPay.open({ store: timedStore(dir, writeMs) });
  const ids: string[] = [];
  for (let b = 0; b < ACCOUNTS; b += 5_000) {
    const batch = [];
    for (let i = b; i < Math.min(ACCOUNTS, b + 5_000); i++) batch.push({ id: `a${i}`, currency: "USD" });
    await pay.ledger.createAccounts(batch);
    for (const a of batch) ids.push(a.id);
  }
  await pay.ledger.createAccount({ id: "funding", currency: "USD" });
  // Seed every account so transfers between them can be limited wallets too.
  let done = 0;
  const latencies: number[] = [];
  let failures = 0;
  const one = amount(1n, "USD");
  const deadline = performance.now() + DURATION_MS;
  const started = performance.now();
  let n = 0;
  const caller = async (c: number) => {
    while (performance.now() < deadline) {
      const from = ids[(c * 7919 + n++) % ACCOUNTS]!;
      const to = ids[(c * 104729 + n * 31) % ACCOUNTS]!;
      if (from === to) continue;
      const t0 = performance.now();
      try {
        await pay.ledger.transfer({ debitAccountId: from, creditAccountId: to, amount: one });
        done++;
        latencies.push(performance.now() - t0);
      } catch {
        failures++;
      }
    }
  };
  await Promise.all(Array.from({ length: CALLERS }, (_, c) => caller(c)));
  const elapsedS = (performance.now() - started) / 1000;
  const report = pay.ledger.check();
  const stats = pay.engine.stats;
  await pay.close();
  const sorted = Float64Array.from(latencies).sort();
  const writes = Float64Array.from(writeMs).sort();
  return {
    writeP99: percentile(writes, 0.99),
    perSec: done / elapsedS, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), done, failures,
    ok: report.ok, batches: stats.batches, commands: stats.commands,
  };
}

async function millionAccountsRssMb(dir: string): Promise<number> {
  // On the default store, as in production: the memory store would also hold an encoded copy of every record.
  const pay = await AgentPay.open({ dir });
  for (let b = 0; b < 1_000_000; b += 10_000) {
    const batch = [];
    for (let i = b; i < b + 10_000; i++) batch.push({ id: `m${i}`, currency: "USD", flags: { debitsMustNotExceedCredits: true } });
    await pay.ledger.createAccounts(batch);
  }
  globalThis.gc?.();
  const rss = process.memoryUsage().rss / 1024 / 1024;
  if (pay.engine.stats.records < 1_000_000) throw new Error("accounts missing");
  await pay.close();
  return rss;
}

const root = mkdtempSync(join(tmpdir(), "agentpay-bench-"));
try {
  const raw = await rawLevelSyncPutsPerSec(join(root, "raw"), 3);
  console.log(`raw LevelDB, sync batches of 100 puts: ${raw.toFixed(0)} puts/s`);
  const t = await durableTransfers(join(root, "ledger"));
  console.log(`durable transfers: ${t.perSec.toFixed(0)}/s over ${t.done} transfers (${t.failures} failed), ` +
    `caller-observed p50 ${t.p50.toFixed(2)} ms, p99 ${t.p99.toFixed(2)} ms; group-commit write p99 ${t.writeP99.toFixed(2)} ms; ${t.batches} batches, ` +
    `${(t.commands / t.batches).toFixed(0)} commands per batch; invariants ${t.ok ? "hold" : "BROKEN"}`);
  const rss = await millionAccountsRssMb(join(root, "million"));
  console.log(`1,000,000 accounts in memory: RSS ${rss.toFixed(0)} MB`);
  console.log(JSON.stringify({
    durable_transfers_per_s: Math.round(t.perSec),
    p99_commit_ms: Number(t.p99.toFixed(2)),
    p99_batch_write_ms: Number(t.writeP99.toFixed(2)),
    raw_level_sync_puts_per_s: Math.round(raw),
    ratio: Number((t.perSec / raw).toFixed(3)),
    rss_mb_1m_accounts: Math.round(rss),
  }));
  if (!t.ok) process.exitCode = 1;
} finally {
  rmSync(root, { recursive: true, force: true });
}
