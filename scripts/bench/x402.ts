// npm run bench:402 — paid requests per second end to end over loopback: an agent's whole cycle for one
// request (GET → 402 → POST /v1/payment-intents, a signed intent through policy, risk, hold and token →
// GET with PAYMENT-SIGNATURE → offline verification, capture, handler → 200), against the same route
// unpaid in the same run (before and after the paid phase; the ratio uses their mean). Two processes: the
// server (scripts/bench/x402-server.ts: agentpay durable on the default log store, its HTTP API, and the
// merchant's API settling in-process) and this one, the agents (their keys, fetchWithPayment, fetch).
// The agents' HTTP client, for the paid and the free requests alike, is keepAliveFetch
// (scripts/bench/x402-fetch.ts): a fetch over undici's keep-alive Agent, real sockets, whole responses
// parsed and read; globalThis.fetch spends more CPU per request than the rest of the agent's side.
// BENCH_FETCH=global measures with globalThis.fetch instead (both phases).
// Last line: {"paid_requests_per_s", "free_requests_per_s", "ratio"}.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { amount } from "../../src/index.ts";
import { fetchWithPayment } from "../../src/x402/index.ts";
import type { PaidFetch } from "../../src/x402/index.ts";
import { httpPayer } from "../demo-402/http-payer.ts";
import { keepAliveFetch } from "./x402-fetch.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const httpFetch: typeof fetch = process.env.BENCH_FETCH === "global" ? fetch : keepAliveFetch();
const pct = (a: Float64Array, p: number) => a[Math.min(a.length - 1, Math.floor(a.length * p))] ?? 0;

const server = spawn(process.execPath, [fileURLToPath(new URL("./x402-server.ts", import.meta.url))], { stdio: ["pipe", "pipe", "inherit"] });
// BENCH_PROFILE=<dir>: CPU profiles of the paid phase only, agents.cpuprofile (this process) and server.cpuprofile.
const profileDir = process.env.BENCH_PROFILE;
const profiler = profileDir ? new (await import("node:inspector/promises")).Session() : undefined;
profiler?.connect();
await profiler?.post("Profiler.enable");
const lines: string[] = [];
const waiting: Array<(l: string) => void> = [];
createInterface({ input: server.stdout! }).on("line", (l) => { const w = waiting.shift(); if (w) w(l); else lines.push(l); });
const nextLine = () => new Promise<string>((resolve) => { const l = lines.shift(); if (l !== undefined) resolve(l); else waiting.push(resolve); });
const ask = async (cmd: string) => { server.stdin!.write(`${cmd}\n`); return JSON.parse(await nextLine()) as Record<string, unknown>; };

try {
  const cfg = JSON.parse(await nextLine()) as { agentpayUrl: string; shopUrl: string; agents: Array<{ agentId: string; jwk: Record<string, unknown>; subWalletId: string }> };
  const paidFetches: PaidFetch[] = [];
  for (const a of cfg.agents) {
    const payer = await httpPayer(cfg.agentpayUrl, a.agentId, a.jwk, httpFetch);
    paidFetches.push(fetchWithPayment(httpFetch, payer, { subWalletId: a.subWalletId, maxAmount: amount("0.05", "USD"), approvalTimeoutMs: 0 }));
  }
  // Warm-up: the first payment ever to a merchant is the person's to approve (the risk engine knows
  // nothing of it); then every agent pays once, so each has a history.
  const first = fetchWithPayment(httpFetch, await httpPayer(cfg.agentpayUrl, cfg.agents[0]!.agentId, cfg.agents[0]!.jwk, httpFetch), { subWalletId: cfg.agents[0]!.subWalletId, maxAmount: amount("0.05", "USD"), approvalTimeoutMs: 20_000 });
  const pending = first(`${cfg.shopUrl}/paid?n=warm`);
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 50));
    if ((await ask("approve")).approved) break;
  }
  if ((await pending).response.status !== 200) throw new Error("the warm-up payment failed");
  await Promise.all(paidFetches.map(async (f, i) => { const r = await f(`${cfg.shopUrl}/paid?n=warm${i}`); await r.response.arrayBuffer(); }));

  let seq = 0;
  async function phase(name: string, one: (n: number) => Promise<boolean>): Promise<{ perS: number; p50: number; p99: number; errors: Record<string, number>; cpuUsPer: number; mainCpuUsPer: number; clientCpuUsPer: number }> {
    await ask("cpu");
    const cpu0 = process.cpuUsage();
    const ms: number[] = [];
    const errors: Record<string, number> = {};
    let ok = 0;
    const started = performance.now();
    const deadline = started + SECONDS * 1000;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        const n = seq++;
        const t0 = performance.now();
        try {
          if (await one(n)) {
            ok++;
            ms.push(performance.now() - t0);
          } else {
            errors.status = (errors.status ?? 0) + 1;
          }
        } catch (e) {
          const code = (e as { code?: string }).code ?? (e as Error).name;
          errors[code] = (errors[code] ?? 0) + 1;
        }
      }
    }));
    const elapsed = (performance.now() - started) / 1000;
    const client = process.cpuUsage(cpu0);
    const server = await ask("cpu");
    const sorted = Float64Array.from(ms).sort();
    const r = { perS: ok / elapsed, p50: pct(sorted, 0.5), p99: pct(sorted, 0.99), errors, cpuUsPer: (server.cpuUs as number) / Math.max(1, ok), mainCpuUsPer: (server.mainCpuUs as number) / Math.max(1, ok), clientCpuUsPer: (client.user + client.system) / Math.max(1, ok) };
    console.log(`${name}: ${ok} in ${elapsed.toFixed(1)} s = ${r.perS.toFixed(0)}/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, CPU each: server ${r.cpuUsPer.toFixed(0)} µs (its main thread ${r.mainCpuUsPer.toFixed(0)}), agents ${r.clientCpuUsPer.toFixed(0)} µs${Object.keys(errors).length ? `, failed ${JSON.stringify(errors)}` : ""}`);
    return r;
  }
  const free = async (n: number) => {
    const r = await httpFetch(`${cfg.shopUrl}/free?n=${n}`);
    await r.arrayBuffer();
    return r.status === 200;
  };
  const paid = async (n: number) => {
    const { response, receipt } = await paidFetches[n % paidFetches.length]!(`${cfg.shopUrl}/paid?n=${n}`);
    await response.arrayBuffer();
    return response.status === 200 && receipt?.settle?.success === true;
  };
  console.log(`${cfg.agents.length} agents, ${CONCURRENCY} requests in flight, ${SECONDS} s per phase, loopback, ${process.env.BENCH_FETCH === "global" ? "globalThis.fetch" : "keepAliveFetch (undici Agent)"}; server: agentpay on the log store + the merchant's API (settling in-process)`);
  const free1 = await phase("free requests (before)", free);
  if (profiler) { await ask(`profile-start`); await profiler.post("Profiler.start"); }
  const paidR = await phase("paid requests (402 → pay → 200)", paid);
  if (profiler) {
    const { profile } = await profiler.post("Profiler.stop");
    writeFileSync(`${profileDir}/agents.cpuprofile`, JSON.stringify(profile));
    await ask(`profile-stop ${profileDir}/server.cpuprofile`);
  }
  const free2 = await phase("free requests (after)", free);
  const state = await ask("cpu");
  const freePerS = (free1.perS + free2.perS) / 2;
  console.log(`ledger invariants ${state.ledgerOk ? "hold" : "BROKEN"}; a paid request is 3 HTTP requests (402, payment intent, paid retry) and 2 engine commands`);
  console.log(JSON.stringify({ paid_requests_per_s: Math.round(paidR.perS), free_requests_per_s: Math.round(freePerS), ratio: Number((paidR.perS / freePerS).toFixed(3)) }));
  if (!state.ledgerOk) process.exitCode = 1;
} finally {
  server.stdin!.end();
}
