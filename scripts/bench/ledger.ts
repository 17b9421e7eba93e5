// npm run bench:ledger — durable transfers through the engine vs raw LevelDB sync batches (closed
// loop: 1,000 callers), then an open loop at a fixed offered rate (10,000 transfers/s) for the latency
// a user sees under that load. Last line: one JSON object with the figures the issues ask for.
//
// The open loop runs in child processes of its own (a fresh heap, nothing left from the phases
// before): once with the young-generation size docs/DURABILITY.md recommends for latency
// (--max-semi-space-size=1), which gives p99_ms_at_10k_per_s, and once with V8's defaults, printed
// beside it as p99_ms_at_10k_per_s_default_heap.
import { spawnSync } from "node:child_process";
import { PerformanceObserver, constants as perf } from "node:perf_hooks";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Level } from "level";
import { AgentPay, LevelStore, LogStore, amount } from "../../src/index.ts";
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

/** ACCOUNTS accounts named `<prefix><n>`, created in batches of 5,000; returns their ids. */
async function createAccounts(pay: AgentPay, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  for (let b = 0; b < ACCOUNTS; b += 5_000) {
    const batch = [];
    for (let i = b; i < Math.min(ACCOUNTS, b + 5_000); i++) batch.push({ id: `${prefix}${i}`, currency: "USD" });
    await pay.ledger.createAccounts(batch);
    for (const a of batch) ids.push(a.id);
  }
  return ids;
}

async function durableTransfers(dir: string) {
  const writeMs: number[] = [];
  const pay = await AgentPay.open({ store: timedStore(dir, writeMs) });
  const ids = await createAccounts(pay, "a");
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

/**
 * Open loop: transfers offered at a fixed rate whatever the answers, as independent users arrive,
 * each waiting for its own durable transfer. A latency runs from when the transfer was due (not when
 * the driver got round to sending it), so a stalled driver or event loop shows up as latency
 * instead of as fewer requests (no coordinated omission). The first second warms up and is not counted.
 */
async function openLoop(store: Store, ratePerS: number, seconds: number) {
  const pay = await AgentPay.open({ store });
  const ids = await createAccounts(pay, "o");
  const one = amount(1n, "USD");
  const warmupMs = 1_000;
  const total = Math.floor(ratePerS * (seconds + warmupMs / 1000));
  // Preallocated: the driver itself must not feed the garbage collector what it measures.
  const latencies = new Float64Array(total);
  let measured = 0;
  let failures = 0;
  let settled = 0;
  // A breakdown of what the engine's thread lost while measuring: GC pauses, and the driver's
  // ticks (due every ms) that came late, i.e. the thread was busy or not scheduled.
  const stalls = { minorGcMs: 0, majorGcMs: 0, maxGcMs: 0, lateTicksOver10ms: 0, maxTickGapMs: 0 };
  let measuring = false;
  const gcs = new PerformanceObserver((list) => {
    if (!measuring) return;
    for (const e of list.getEntries()) {
      const major = (e as unknown as { detail?: { kind?: number } }).detail?.kind === perf.NODE_PERFORMANCE_GC_MAJOR;
      if (major) stalls.majorGcMs += e.duration;
      else stalls.minorGcMs += e.duration;
      stalls.maxGcMs = Math.max(stalls.maxGcMs, e.duration);
    }
  });
  gcs.observe({ entryTypes: ["gc"] });
  let lastTick = 0;
  let issued = 0;
  let allSettled: () => void = () => {};
  const done = new Promise<void>((r) => (allSettled = r));
  const start = performance.now();
  const settle = () => {
    if (++settled === total) allSettled();
  };
  const send = (i: number) => {
    const dueAt = start + (i * 1000) / ratePerS;
    const from = ids[(i * 7919) % ACCOUNTS]!;
    const to = ids[(i * 7919 + 1 + (i % 97)) % ACCOUNTS]!;
    pay.ledger.transfer({ debitAccountId: from, creditAccountId: to, amount: one }).then(
      () => {
        if (dueAt - start >= warmupMs) latencies[measured++] = performance.now() - dueAt;
        settle();
      },
      () => {
        failures++;
        settle();
      },
    );
  };
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      measuring = now - start >= warmupMs;
      if (measuring && lastTick > 0) {
        stalls.maxTickGapMs = Math.max(stalls.maxTickGapMs, now - lastTick);
        if (now - lastTick > 10) stalls.lateTicksOver10ms++;
      }
      lastTick = now;
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * ratePerS));
      while (issued < due) send(issued++);
      if (issued < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  await done;
  measuring = false;
  gcs.disconnect();
  const offeredS = (performance.now() - start) / 1000;
  const report = pay.ledger.check();
  const stats = pay.engine.stats;
  await pay.close();
  const sorted = latencies.subarray(0, measured).sort();
  return {
    p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), p999: percentile(sorted, 0.999), max: sorted[sorted.length - 1] ?? 0,
    measured, failures, settled, ok: report.ok, perBatch: stats.commands / stats.batches, elapsedS: offeredS, stalls,
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

/** The young-generation setting the latency figure is taken with (docs/DURABILITY.md, "Latency"). */
const LATENCY_FLAGS = ["--max-semi-space-size=1"];
const OPEN_RATE = Number(process.env.BENCH_OPEN_RATE ?? 10_000);

type OpenLoopResult = Awaited<ReturnType<typeof openLoop>>;

/** One open-loop run in a fresh process with `flags`; its last line is the result. */
function openLoopChild(dir: string, flags: string[]): OpenLoopResult {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, [...flags, self, "--open-loop", dir], { encoding: "utf8", env: process.env, maxBuffer: 1 << 20 });
  const last = r.stdout.trim().split("\n").at(-1) ?? "";
  if (r.status !== 0 || !last.startsWith("{")) throw new Error(`open-loop run failed (${r.status}): ${r.stdout.slice(-500)} ${r.stderr.slice(-2000)}`);
  return JSON.parse(last) as OpenLoopResult;
}

function describeOpenLoop(o: OpenLoopResult, what: string): string {
  return `open loop on the default store (LogStore), ${OPEN_RATE}/s offered, ${what}: ${o.measured} transfers measured (${o.failures} failed), ` +
    `latency from when each was due: p50 ${o.p50.toFixed(2)} ms, p99 ${o.p99.toFixed(2)} ms, p99.9 ${o.p999.toFixed(2)} ms, max ${o.max.toFixed(2)} ms; ` +
    `${o.perBatch.toFixed(1)} commands per batch; invariants ${o.ok ? "hold" : "BROKEN"}; ` +
    `while measured: GC pauses ${o.stalls.minorGcMs.toFixed(0)} ms minor + ${o.stalls.majorGcMs.toFixed(0)} ms major (longest ${o.stalls.maxGcMs.toFixed(1)} ms), ` +
    `${o.stalls.lateTicksOver10ms} driver ticks more than 10 ms apart (longest gap ${o.stalls.maxTickGapMs.toFixed(1)} ms)`;
}

if (process.argv[2] === "--open-loop") {
  const o = await openLoop(new LogStore(process.argv[3]!), OPEN_RATE, DURATION_MS / 1000);
  console.log(JSON.stringify(o));
  process.exit(0);
}

const root = mkdtempSync(join(tmpdir(), "agentpay-bench-"));
try {
  const raw = await rawLevelSyncPutsPerSec(join(root, "raw"), 3);
  console.log(`raw LevelDB, sync batches of 100 puts: ${raw.toFixed(0)} puts/s`);
  const t = await durableTransfers(join(root, "ledger"));
  console.log(`durable transfers: ${t.perSec.toFixed(0)}/s over ${t.done} transfers (${t.failures} failed), ` +
    `caller-observed p50 ${t.p50.toFixed(2)} ms, p99 ${t.p99.toFixed(2)} ms; group-commit write p99 ${t.writeP99.toFixed(2)} ms; ${t.batches} batches, ` +
    `${(t.commands / t.batches).toFixed(0)} commands per batch; invariants ${t.ok ? "hold" : "BROKEN"}`);
  const o = openLoopChild(join(root, "open-loop"), LATENCY_FLAGS);
  console.log(describeOpenLoop(o, `node ${LATENCY_FLAGS.join(" ")}`));
  const od = openLoopChild(join(root, "open-loop-default"), []);
  console.log(describeOpenLoop(od, "V8's default heap sizing"));
  const rss = await millionAccountsRssMb(join(root, "million"));
  console.log(`1,000,000 accounts in memory: RSS ${rss.toFixed(0)} MB`);
  console.log(JSON.stringify({
    durable_transfers_per_s: Math.round(t.perSec),
    p99_commit_ms: Number(t.p99.toFixed(2)),
    p99_batch_write_ms: Number(t.writeP99.toFixed(2)),
    raw_level_sync_puts_per_s: Math.round(raw),
    ratio: Number((t.perSec / raw).toFixed(3)),
    rss_mb_1m_accounts: Math.round(rss),
    p99_ms_at_10k_per_s: Number(o.p99.toFixed(2)),
    p99_ms_at_10k_per_s_default_heap: Number(od.p99.toFixed(2)),
  }));
  if (!t.ok || !o.ok || !od.ok || o.failures > 0 || od.failures > 0) process.exitCode = 1;
} finally {
  rmSync(root, { recursive: true, force: true });
}
