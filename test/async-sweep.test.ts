import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { createPublicClient, http } from "viem";
import * as core from "../src/index.ts";
import * as chainApi from "../src/chain-bridge/index.ts";
import { AgentPay, LevelStore, LogStore, MemoryStore, TokenVerifier } from "../src/index.ts";
import { ChainWatcher, SettlementClient } from "../src/chain-bridge/index.ts";
import { usd, world } from "./payments/helpers.ts";

/**
 * Every promise-returning call of the public API rejects, never throws synchronously: a caller's
 * `.catch` (or a `try { await … }` around a call made earlier) must see every failure.
 *
 * The calls are not listed by hand. The TypeScript checker reads src/index.ts and finds every
 * method and function whose declared result is a Promise, on every exported class and on every
 * object reachable from an open AgentPay (pay.tokens.keyRing, pay.chain.keys…); each is then called
 * on a live instance with garbage in every position, and with objects whose fields are valid but one.
 * An exported class with such methods and no live instance here fails the test.
 */

// The package's entry points with runtime exports: agentpay and agentpay/chain.
const ROOTS = [fileURLToPath(new URL("../src/index.ts", import.meta.url)), fileURLToPath(new URL("../src/chain-bridge/index.ts", import.meta.url))];
const api: Record<string, unknown> = { ...core, ...chainApi };
const SRC = fileURLToPath(new URL("../src/", import.meta.url));

interface Param {
  name: string;
  /** Member names, when the parameter is an object type. */
  members: string[];
}
interface AsyncMethod {
  name: string;
  params: Param[][];
}

function program(): { checker: ts.TypeChecker; exports: ts.Symbol[] } {
  const p = ts.createProgram(ROOTS, {
    target: ts.ScriptTarget.ES2023, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
    allowImportingTsExtensions: true, noEmit: true, strict: true, skipLibCheck: true, types: ["node"],
  });
  const checker = p.getTypeChecker();
  const exports = ROOTS.flatMap((r) => checker.getExportsOfModule(checker.getSymbolAtLocation(p.getSourceFile(r)!)!));
  return { checker, exports };
}

function isPromise(t: ts.Type): boolean {
  if (t.isUnion()) return t.types.some(isPromise);
  const name = t.getSymbol()?.getName();
  return name === "Promise";
}

function paramsOf(checker: ts.TypeChecker, sig: ts.Signature): Param[] {
  return sig.getParameters().map((p) => {
    const decl = p.valueDeclaration ?? p.declarations?.[0];
    const t = decl ? checker.getNonNullableType(checker.getTypeOfSymbolAtLocation(p, decl)) : undefined;
    const object = t && !(t.flags & ts.TypeFlags.StringLike) && !checker.isArrayType(t) && t.getCallSignatures().length === 0
      && (t.flags & ts.TypeFlags.Object) !== 0;
    return { name: p.getName(), members: object ? checker.getPropertiesOfType(t!).map((m) => m.getName()) : [] };
  });
}

/** The methods of a type whose result is a Promise, and the types of its other members (to walk into). */
function membersOf(checker: ts.TypeChecker, type: ts.Type, at: ts.Node): { methods: AsyncMethod[]; objects: Array<[string, ts.Type]> } {
  const methods: AsyncMethod[] = [];
  const objects: Array<[string, ts.Type]> = [];
  for (const m of checker.getPropertiesOfType(type)) {
    const name = m.getName();
    if (name.startsWith("#") || name.startsWith("__")) continue;
    const decl = m.valueDeclaration ?? m.declarations?.[0];
    if (decl && ts.getCombinedModifierFlags(decl as ts.Declaration) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue;
    const t = checker.getTypeOfSymbolAtLocation(m, decl ?? at);
    const sigs = t.getCallSignatures();
    if (sigs.length > 0) {
      if (sigs.some((s) => isPromise(s.getReturnType()))) methods.push({ name, params: sigs.map((s) => paramsOf(checker, s)) });
    } else if (t.flags & ts.TypeFlags.Object) {
      objects.push([name, checker.getNonNullableType(t)]);
    }
  }
  return { methods, objects };
}

/**
 * Where a rejection may still be a TypeError rather than an AgentPayError: the stores' write calls
 * (the engine's interface to a store: the engine builds their input) and the chain bridge, which is
 * being reorganised (its own checks are left to that work). They must still reject, never throw.
 */
const LOOSE = ["MemoryStore.write", "LogStore.write", "LevelStore.write", "pay.chain.", "SettlementClient.redeem", "SettlementClient.refund"];

const GARBAGE: unknown[] = [undefined, null, 42, -1, NaN, "", "x", "\u0000", "x".repeat(300), {}, [], Symbol("s"), () => 1, -1n, true, { minor: -1n, currency: "USD" }];

function show(v: unknown): string {
  if (typeof v === "symbol") return "Symbol";
  if (typeof v === "function") return "fn";
  if (typeof v === "bigint") return `${v}n`;
  try {
    const s = JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : typeof x === "symbol" ? "Symbol" : typeof x === "function" ? "fn" : x));
    return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return String(v);
  }
}

describe("public API: every promise-returning call rejects, never throws synchronously", function () {
  this.timeout(300_000);

  it("sweeps every async method and function the checker finds, with garbage in every position", async () => {
    const { checker, exports } = program();
    const w = await world({ chain: true }); // so pay.chain is there to sweep
    const { pay, client } = w;
    // Valid values by parameter or member name, so calls reach past the first check.
    const pending = await client.requestPayment({ subWalletId: w.travel.id, merchantId: w.hotel.merchant.id, amount: usd("120.00") });
    const paid = await client.requestPayment({ subWalletId: w.travel.id, merchantId: w.air.merchant.id, amount: usd("10.00") });
    if (pending.status !== "pending_approval" || paid.status !== "approved") throw new Error("setup");
    const VALID: Record<string, unknown> = {
      walletId: w.wallet.id, subWalletId: w.travel.id, agentId: w.agent.id, merchantId: w.air.merchant.id, grantId: w.grant.id,
      paymentId: paid.paymentId, approvalId: pending.approvalId, walletOrSubWalletId: w.wallet.id, name: "sweep", ownerId: "alice",
      currency: "USD", amount: usd("1.00"), budget: usd("1.00"), idempotencyKey: "sweep-key", token: paid.token, category: "4511",
      intentJws: await client.sign({ action: "pay", subWalletId: w.travel.id, merchantId: w.air.merchant.id, amount: "1.00", currency: "USD", idempotencyKey: "s" }),
      kid: pay.agents.get(w.agent.id).activeKid, scopes: ["pay"], mode: "persistent", timeZone: "UTC",
    };
    const dirs = [mkdtempSync(join(tmpdir(), "agentpay-sweep-")), mkdtempSync(join(tmpdir(), "agentpay-sweep-"))];
    // Garbage that happens to be a usable path ("x") opens a store there: in a scratch directory.
    const scratch = mkdtempSync(join(tmpdir(), "agentpay-sweep-cwd-"));
    const cwd = process.cwd();
    process.chdir(scratch);
    /** Whatever the calls open is closed again (an AgentPay, a store). */
    const opened: Array<{ close(): Promise<unknown> }> = [];
    const publicClient = createPublicClient({ transport: http("http://127.0.0.1:9", { retryCount: 0, timeout: 500 }) });
    const address = "0x000000000000000000000000000000000000dEaD";
    // Live instances of exported classes that an AgentPay does not hand out.
    const extra: Record<string, unknown> = {
      MemoryStore: new MemoryStore(), LogStore: new LogStore(dirs[0]!), LevelStore: new LevelStore(dirs[1]!),
      TokenVerifier: new TokenVerifier(pay.tokens.jwks()),
      SettlementClient: new SettlementClient({ publicClient: publicClient as never, address }),
      ChainWatcher: new ChainWatcher({ engine: pay.engine, publicClient: publicClient as never, address, chainId: 31337, fromBlock: 0n, handler: { apply: () => {}, revert: () => {} } as never }),
    };

    type Call = { path: string; receiver: unknown; method: AsyncMethod };
    const calls: Call[] = [];
    const covered = new Set<string>();
    const seen = new Set<unknown>();
    const walk = (receiver: unknown, type: ts.Type, path: string, depth: number) => {
      if (receiver === null || receiver === undefined || (typeof receiver !== "object" && typeof receiver !== "function") || seen.has(receiver)) return;
      // Only agentpay's own objects: a viem client hanging off one is viem's API, not ours.
      const file = type.getSymbol()?.declarations?.[0]?.getSourceFile().fileName ?? "";
      if (!file.startsWith(SRC)) return;
      seen.add(receiver);
      const name = type.getSymbol()?.getName();
      if (name) covered.add(name);
      const at = type.getSymbol()?.declarations?.[0] ?? exports[0]!.declarations![0]!;
      const { methods, objects } = membersOf(checker, type, at);
      for (const m of methods) calls.push({ path: `${path}.${m.name}`, receiver, method: m });
      if (depth < 3) for (const [k, t] of objects) walk((receiver as Record<string, unknown>)[k], t, `${path}.${k}`, depth + 1);
    };
    const asyncClasses = new Set<string>();
    for (const sym of exports) {
      const s = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
      const decl = s.valueDeclaration ?? s.declarations?.[0];
      if (!decl) continue;
      const runtime = api[sym.getName()];
      if (s.flags & ts.SymbolFlags.Class) {
        const instance = checker.getDeclaredTypeOfSymbol(s);
        if (membersOf(checker, instance, decl).methods.length > 0) asyncClasses.add(s.getName());
        walk(runtime, checker.getTypeOfSymbolAtLocation(s, decl), sym.getName(), 3); // statics (AgentPay.open)
      } else if (s.flags & ts.SymbolFlags.Function) {
        const sigs = checker.getTypeOfSymbolAtLocation(s, decl).getCallSignatures();
        if (sigs.some((g) => isPromise(g.getReturnType()))) {
          calls.push({ path: sym.getName(), receiver: undefined, method: { name: sym.getName(), params: sigs.map((g) => paramsOf(checker, g)) } });
        }
      }
    }
    const typeOf = (cls: string) => {
      const s = exports.find((e) => e.getName() === cls)!;
      return checker.getDeclaredTypeOfSymbol(s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
    };
    walk(pay, typeOf("AgentPay"), "pay", 0);
    walk(client, typeOf("AgentClient"), "client", 0);
    for (const [cls, inst] of Object.entries(extra)) walk(inst, typeOf(cls), cls, 0);
    expect([...asyncClasses].filter((c) => !covered.has(c)), "exported classes with async methods and no live instance in this sweep").to.deep.equal([]);
    expect(calls.length).to.be.above(80);
    expect(calls.map((c) => c.path)).to.include("pay.wallets.createSubWallet");

    // Calls that end what the rest needs run last.
    const LAST = new Set(["close", "stop", "load", "open"]);
    calls.sort((a, b) => Number(LAST.has(a.method.name)) - Number(LAST.has(b.method.name)));
    const failures: string[] = [];
    const rejections: string[] = [];
    let made = 0;
    const fn = (c: Call) => (c.receiver === undefined ? (api as Record<string, unknown>)[c.method.name] : (c.receiver as Record<string, unknown>)[c.method.name]) as (...a: unknown[]) => unknown;
    const valid = (p: Param): unknown => (p.name in VALID ? VALID[p.name] : p.members.length > 0 ? validObject(p) : "x");
    const validObject = (p: Param) => Object.fromEntries(p.members.filter((m) => m in VALID).map((m) => [m, VALID[m]]));
    for (const c of calls) {
      const argLists: unknown[][] = [];
      for (const params of c.method.params) {
        for (const g of GARBAGE) argLists.push(params.map(() => g));
        params.forEach((p, i) => {
          for (const g of GARBAGE) argLists.push(params.map((q, j) => (j < i ? valid(q) : j === i ? g : undefined)));
          for (const member of p.members) {
            for (const g of GARBAGE) argLists.push(params.map((q, j) => (j < i ? valid(q) : j === i ? { ...validObject(p), [member]: g } : undefined)));
          }
        });
      }
      for (const args of argLists) {
        made++;
        let result: unknown;
        try {
          result = fn(c).apply(c.receiver, args);
        } catch (e) {
          failures.push(`${c.path}(${args.map(show).join(", ")}) threw synchronously: ${(e as Error)?.constructor?.name} ${(e as { code?: string }).code ?? ""} ${(e as Error)?.message}`);
          continue;
        }
        if (c.method.name === "open" && c.receiver !== AgentPay && typeof (c.receiver as { close?: unknown }).close === "function") {
          opened.push(c.receiver as { close(): Promise<unknown> });
        }
        if (result instanceof Promise) {
          // Settled or not (a long poll may wait), a rejection is handled here, never left unhandled.
          await Promise.race([result.then((v: unknown) => {
            if (v instanceof AgentPay) opened.push(v);
          }, (e: unknown) => {
            if (!(e instanceof core.AgentPayError) && !LOOSE.some((p) => c.path.startsWith(p))) {
              rejections.push(`${c.path}(${args.map(show).join(", ")}) rejected with ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
            }
          }), new Promise((r) => setTimeout(r, 200).unref())]);
        }
      }
    }
    for (const o of [...opened, ...Object.values(extra) as Array<{ close?: () => Promise<unknown> }>, pay]) {
      await o.close?.().catch(() => {});
    }
    process.chdir(cwd);
    for (const d of [...dirs, scratch]) rmSync(d, { recursive: true, force: true });
    expect(made).to.be.above(1_000);
    if (process.env.SWEEP_VERBOSE) console.log(`${calls.length} methods, ${made} calls`);
    // One line per method is enough to act on.
    const perMethod = new Map<string, string>();
    for (const f of failures) {
      const k = f.slice(0, f.indexOf("("));
      if (!perMethod.has(k)) perMethod.set(k, f);
    }
    expect([...perMethod.values()]).to.deep.equal([]);
    // And bad input is refused with an AgentPayError (garbage.test.ts checks the main calls in depth).
    const perMethodRejection = new Map<string, string>();
    for (const f of rejections) {
      const k = f.slice(0, f.indexOf("("));
      if (!perMethodRejection.has(k)) perMethodRejection.set(k, f);
    }
    expect([...perMethodRejection.values()]).to.deep.equal([]);
  });
});

