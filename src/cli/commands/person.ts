// The person's (and operator's) commands: wallets, sub-wallets and policies, grants, approvals, payments,
// statements, API keys.
import { writeFileSync } from "node:fs";
import { Command } from "commander";
import type { PolicyInput } from "../../index.ts";
import { ctxOf, need, UsageError } from "../context.ts";
import { fields, money, print, spin, status, table } from "../output.ts";
import { toWire } from "../../index.ts";

const w = (v: unknown, reg?: Parameters<typeof toWire>[1]) => toWire(v, reg) as Record<string, any>;
const idem = (o: { idempotencyKey?: string }) => (o.idempotencyKey ? { idempotencyKey: o.idempotencyKey } : {});

/** Policy flags shared by `subwallet create` and `subwallet policy`. */
function policyOptions(c: Command): Command {
  return c
    .option("--per-payment <amount>", "largest single payment").option("--daily <amount>", "daily budget (the wallet's time zone)")
    .option("--weekly <amount>", "weekly budget").option("--monthly <amount>", "monthly budget").option("--rolling24h <amount>", "budget over any 24 hours")
    .option("--approval-above <amount>", "payments above this ask the person")
    .option("--categories <mccs>", "allowed merchant categories (MCCs), comma-separated").option("--block-categories <mccs>", "blocked categories")
    .option("--merchants <ids>", "allowed merchants").option("--block-merchants <ids>", "blocked merchants")
    .option("--max-payments-per-day <n>", "at most this many payments a day")
    .option("--notify <whens>", "notifications, comma-separated: payment,decline,approval_needed,new_merchant")
    .option("--policy-file <file>", "the whole policy as JSON (the flags are ignored)");
}

function policyFrom(o: Record<string, string | undefined>): PolicyInput | undefined {
  if (o.policyFile) return JSON.parse(require("node:fs").readFileSync(o.policyFile, "utf8")) as PolicyInput;
  const list = (s?: string) => s?.split(",").map((x) => x.trim()).filter(Boolean);
  const p: PolicyInput = {
    ...(o.perPayment ? { perPayment: o.perPayment } : {}), ...(o.daily ? { daily: o.daily } : {}), ...(o.weekly ? { weekly: o.weekly } : {}),
    ...(o.monthly ? { monthly: o.monthly } : {}), ...(o.rolling24h ? { rolling24h: o.rolling24h } : {}), ...(o.approvalAbove ? { approvalAbove: o.approvalAbove } : {}),
    ...(o.categories || o.blockCategories ? { categories: { ...(o.categories ? { allow: list(o.categories)! } : {}), ...(o.blockCategories ? { block: list(o.blockCategories)! } : {}) } } : {}),
    ...(o.merchants || o.blockMerchants ? { merchants: { ...(o.merchants ? { allow: list(o.merchants)! } : {}), ...(o.blockMerchants ? { block: list(o.blockMerchants)! } : {}) } } : {}),
    ...(o.maxPaymentsPerDay ? { maxPaymentsPerDay: Number(o.maxPaymentsPerDay) } : {}),
    ...(o.notify ? { notify: list(o.notify)!.map((when) => ({ when })) } : {}),
  };
  return Object.keys(p).length > 0 ? p : undefined;
}

function policyText(pol: Record<string, any>): string {
  const f: Record<string, unknown> = { version: pol.version };
  for (const k of ["perPayment", "daily", "weekly", "monthly", "rolling24h", "approvalAbove"]) if (pol[k]) f[k] = money(pol[k]);
  if (pol.categories) f.categories = JSON.stringify(pol.categories);
  if (pol.merchants) f.merchants = JSON.stringify(pol.merchants);
  if (pol.maxPaymentsPerDay) f.maxPaymentsPerDay = pol.maxPaymentsPerDay;
  return fields(f);
}

export function walletCommand(): Command {
  const c = new Command("wallet").description("a person's wallets: create, deposit, withdraw, list, show");
  c.command("create").description("create a wallet").option("--owner <id>", "the person (operator keys; a person key uses its own)")
    .requiredOption("--currency <code>", "ISO 4217 code, e.g. USD").requiredOption("--time-zone <zone>", "IANA zone, e.g. Europe/Paris: calendar budgets start at its midnight")
    .option("--idempotency-key <key>").action(async (o, cmd) => {
      const ctx = ctxOf(cmd);
      const r = await ctx.admin().wallets.create({ ...(o.owner ? { ownerId: o.owner } : {}), currency: o.currency, timeZone: o.timeZone, ...idem(o) });
      print(ctx.out, r, () => `${status("created")} wallet ${r.id}\n${fields({ owner: r.ownerId, currency: r.currency, timeZone: r.timeZone })}`);
    });
  for (const verb of ["deposit", "withdraw"] as const) {
    c.command(`${verb} <walletId> <amount> <currency>`).description(verb === "deposit" ? "money in from outside" : "money out")
      .option("--idempotency-key <key>", "a retry with the same key moves nothing twice (default: a new one)").action(async (walletId, value, currency, o, cmd) => {
        const ctx = ctxOf(cmd);
        const t = await ctx.admin().wallets[verb](walletId, ctx.amount(value, currency), idem(o));
        print(ctx.out, t, () => `${status("ok")} ${verb} ${money(w(t, ctx.registry).amount)} → transfer ${t.id}`);
      });
  }
  c.command("list").description("the person's wallets").option("--owner <id>", "operator keys: whose").action(async (o, cmd) => {
    const ctx = ctxOf(cmd);
    const page = await ctx.admin().wallets.list(o.owner ? { ownerId: o.owner, limit: 100 } : { limit: 100 });
    const admin = ctx.admin();
    const rows = await Promise.all(page.data.map(async (x) => ({ id: x.id, currency: x.currency, timeZone: x.timeZone, available: money(w(await admin.wallets.balance(x.id), ctx.registry).available) })));
    print(ctx.out, page.data, () => table(rows, ["id", "currency", "timeZone", "available"]));
  });
  c.command("show <walletId>").description("a wallet, its balance and sub-wallets").action(async (walletId, _o, cmd) => {
    const ctx = ctxOf(cmd);
    const admin = ctx.admin();
    const [wallet, balance, subs] = await Promise.all([admin.wallets.get(walletId), admin.wallets.balance(walletId), admin.wallets.listSubWallets(walletId, { limit: 100 })]);
    const b = w(balance, ctx.registry);
    print(ctx.out, { wallet, balance, subWallets: subs.data }, () => `${fields({ id: wallet.id, owner: wallet.ownerId, currency: wallet.currency, timeZone: wallet.timeZone, posted: money(b.posted), available: money(b.available) })}\n\n${table(subs.data.map((s) => ({ id: s.id, name: s.name, status: status(s.status) })), ["id", "name", "status"])}`);
  });
  return c;
}

export function subwalletCommand(): Command {
  const c = new Command("subwallet").description("sub-wallets: create, fund, defund, policy, freeze, unfreeze");
  policyOptions(c.command("create <walletId>").description("a sub-wallet for one agent purpose, with a budget and rules")
    .requiredOption("--name <name>").option("--budget <amount>", "moved from the wallet now").option("--idempotency-key <key>"))
    .action(async (walletId, o, cmd) => {
      const ctx = ctxOf(cmd);
      const admin = ctx.admin();
      const wallet = await admin.wallets.get(walletId);
      const policy = policyFrom(o);
      const sw = await admin.wallets.createSubWallet(walletId, { name: o.name, ...(o.budget ? { budget: ctx.amount(o.budget, wallet.currency) } : {}), ...(policy ? { policy } : {}), ...idem(o) });
      print(ctx.out, sw, () => `${status("created")} sub-wallet ${sw.id} (${sw.name})\n${policyText(w(sw.policy, ctx.registry))}`);
    });
  for (const verb of ["fund", "defund"] as const) {
    c.command(`${verb} <subWalletId> <amount>`).description(verb === "fund" ? "move money from the wallet into it" : "move money back to the wallet")
      .option("--idempotency-key <key>").action(async (id, value, o, cmd) => {
        const ctx = ctxOf(cmd);
        const admin = ctx.admin();
        const sw = await admin.wallets.getSubWallet(id);
        const t = await admin.wallets[verb === "fund" ? "fundSubWallet" : "defundSubWallet"](id, ctx.amount(value, sw.currency), idem(o));
        print(ctx.out, t, () => `${status("ok")} ${verb} ${money(w(t, ctx.registry).amount)}`);
      });
  }
  policyOptions(c.command("policy <subWalletId>").description("show the policy, or replace it (any policy flag given)")).action(async (id, o, cmd) => {
    const ctx = ctxOf(cmd);
    const admin = ctx.admin();
    const policy = policyFrom(o);
    const sw = policy ? await admin.wallets.updatePolicy(id, policy) : await admin.wallets.getSubWallet(id);
    const budget = await admin.wallets.budget(id);
    const b = w(budget, ctx.registry);
    const windows = ["daily", "weekly", "monthly", "rolling24h"].map((k) => ({ window: k, used: money(b[k].used), limit: b[k].limit ? money(b[k].limit) : "-", left: b[k].remaining ? money(b[k].remaining) : "-" }));
    print(ctx.out, { subWallet: sw, budget }, () => `${sw.id} ${sw.name} ${status(sw.status)}\n${policyText(w(sw.policy, ctx.registry))}\n\n${table(windows, ["window", "used", "limit", "left"])}`);
  });
  for (const verb of ["freeze", "unfreeze"] as const) {
    c.command(`${verb} <subWalletId>`).description(verb === "freeze" ? "kill switch: refuse every next payment from it" : "allow payments again").action(async (id, _o, cmd) => {
      const ctx = ctxOf(cmd);
      const sw = await ctx.admin().wallets[verb](id);
      print(ctx.out, sw, () => `${status(sw.status)} ${sw.id}`);
    });
  }
  return c;
}

export function grantCommand(): Command {
  const c = new Command("grant").description("give an agent a sub-wallet (scopes), revoke, list");
  c.command("create").description("grant an agent a sub-wallet").requiredOption("--sub-wallet <id>").requiredOption("--agent <id>")
    .option("--scopes <list>", "pay, refund:request, balance:read, statement:read", "pay").option("--mode <mode>", "session or persistent", "session")
    .option("--expires-in <duration>", "e.g. 24h (sessions default to the server's TTL)").option("--max-uses <n>").action(async (o, cmd) => {
      const ctx = ctxOf(cmd);
      if (o.mode !== "session" && o.mode !== "persistent") throw new UsageError("--mode is session or persistent");
      const g = await ctx.admin().grants.create({
        subWalletId: o.subWallet, agentId: o.agent, scopes: String(o.scopes).split(",").map((s) => s.trim()) as never, mode: o.mode,
        ...(o.expiresIn ? { expiresIn: o.expiresIn } : {}), ...(o.maxUses ? { maxUses: Number(o.maxUses) } : {}),
      });
      print(ctx.out, g, () => `${status("created")} grant ${g.id}: ${g.agentId} on ${g.subWalletId} (${g.scopes.join(", ")})`);
    });
  c.command("revoke <grantId>").description("revoke at once").action(async (id, _o, cmd) => {
    const ctx = ctxOf(cmd);
    const g = await ctx.admin().grants.revoke(id);
    print(ctx.out, g, () => `${status(g.status)} ${g.id}`);
  });
  c.command("list").option("--sub-wallet <id>").option("--agent <id>").action(async (o, cmd) => {
    const ctx = ctxOf(cmd);
    const page = await ctx.admin().grants.list({ ...(o.subWallet ? { subWalletId: o.subWallet } : {}), ...(o.agent ? { agentId: o.agent } : {}), limit: 100 });
    print(ctx.out, page.data, () => table(page.data.map((g) => ({ id: g.id, agent: g.agentId, subWallet: g.subWalletId, scopes: g.scopes.join(","), status: status(g.status), uses: g.uses })), ["id", "agent", "subWallet", "scopes", "status", "uses"]));
  });
  return c;
}

export function approvalsCommand(): Command {
  const c = new Command("approvals").description("what agents ask the person to approve: list, approve, deny");
  c.command("list").description("pending approvals: agent, merchant, amount, category, why").option("--owner <id>", "operator keys: whose").action(async (o, cmd) => {
    const ctx = ctxOf(cmd);
    const page = await ctx.admin().approvals.listPending({ ...(o.owner ? { ownerId: o.owner } : {}), limit: 100 });
    print(ctx.out, page.data, () => table(page.data.map((a) => {
      const s = w(a.summary, ctx.registry);
      return {
        id: a.id, agent: a.agentId, merchant: `${s.merchantName ?? s.merchantId ?? ""}`, amount: money(s.amount), category: s.category ?? "",
        why: a.reasons.map((r) => r.code).join(","), expires: new Date(a.expiresAtMs).toISOString().slice(11, 19),
      };
    }), ["id", "agent", "merchant", "amount", "category", "why", "expires"]));
  });
  for (const verb of ["approve", "deny"] as const) {
    c.command(`${verb} <approvalId>`).option("--note <text>").action(async (id, o, cmd) => {
      const ctx = ctxOf(cmd);
      const r = await ctx.admin().approvals[verb](id, o.note ? { note: o.note } : {});
      print(ctx.out, r, () => `${status(r.approval.status)} ${r.approval.id}${r.result ? ` → payment ${r.result.paymentId} ${r.result.status}` : ""}`);
    });
  }
  return c;
}

export function paymentsCommand(): Command {
  const c = new Command("payments").description("payments: list, show");
  c.command("list").option("--sub-wallet <id>").option("--agent <id>").option("--merchant <id>").option("--owner <id>").option("--limit <n>", "at most 100", "20")
    .action(async (o, cmd) => {
      const ctx = ctxOf(cmd);
      const page = await ctx.admin().payments.list({
        ...(o.subWallet ? { subWalletId: o.subWallet } : {}), ...(o.agent ? { agentId: o.agent } : {}), ...(o.merchant ? { merchantId: o.merchant } : {}),
        ...(o.owner ? { ownerId: o.owner } : {}), limit: Number(o.limit),
      });
      print(ctx.out, page.data, () => table(page.data.map((p) => {
        const x = w(p, ctx.registry);
        return { id: p.id, status: status(p.status), amount: money(x.amount), captured: x.captured ? money(x.captured) : "", merchant: p.merchantId, agent: p.agentId, created: x.createdAt };
      }), ["id", "status", "amount", "captured", "merchant", "agent", "created"]));
    });
  c.command("show <paymentId>").action(async (id, _o, cmd) => {
    const ctx = ctxOf(cmd);
    const p = await ctx.admin().payments.get(id);
    const x = w(p, ctx.registry);
    print(ctx.out, p, () => fields({
      id: p.id, status: status(p.status), amount: money(x.amount), captured: x.captured ? money(x.captured) : undefined, refunded: x.refunded ? money(x.refunded) : undefined,
      merchant: p.merchantId, agent: p.agentId, subWallet: p.subWalletId, decision: p.decision.outcome,
      reasons: [...p.decision.policy.reasons, ...p.decision.risk.reasons].map((r) => r.code).join(", ") || "-", created: x.createdAt, reference: p.reference,
    }));
  });
  return c;
}

export function statementCommand(): Command {
  return new Command("statement").description("a wallet's or sub-wallet's entries with running balances").argument("<walletOrSubWalletId>")
    .option("--csv", "CSV on stdout").option("--out <file>", "write there instead of stdout").option("--limit <n>", "entries at most", "10000")
    .action(async (id, o, cmd) => {
      const ctx = ctxOf(cmd);
      const admin = ctx.admin();
      const entries: unknown[] = [];
      await spin(ctx.out, "reading the statement", async () => {
        let cursor: string | undefined;
        do {
          const page = await admin.wallets.statement(id, { limit: 500, ...(cursor ? { cursor } : {}) });
          entries.push(...page.entries);
          cursor = page.nextCursor;
        } while (cursor && entries.length < Number(o.limit));
      });
      const rows = entries.map((e) => w(e, ctx.registry)).map((e) => ({ at: e.at, kind: e.kind, direction: e.direction, amount: e.amount?.value, currency: e.currency, balance: e.balanceAfter?.value, counterparty: e.counterpartyAccountId, transfer: e.transferId, code: e.code ?? "" }));
      const text = ctx.out.json ? `${JSON.stringify({ accountId: id, entries: rows })}` : o.csv
        ? ["at,kind,direction,amount,currency,balance,counterparty,transfer,code", ...rows.map((r) => Object.values(r).map((v) => `"${String(v ?? "").replace(/"/g, '""')}"`).join(","))].join("\n")
        : table(rows, ["at", "direction", "amount", "currency", "balance", "code", "transfer"]);
      if (o.out) {
        writeFileSync(o.out, `${text}\n`);
        if (!ctx.out.json) process.stdout.write(`wrote ${rows.length} entries to ${o.out}\n`);
      } else process.stdout.write(`${text}\n`);
    });
}

export function keyCommand(): Command {
  const c = new Command("key").description("API keys (operator): issue a person's key, rotate, revoke");
  c.command("create").description("issue a key (shown once)").option("--person <ownerId>").option("--merchant <merchantId>").option("--operator").option("--name <name>")
    .action(async (o, cmd) => {
      const ctx = ctxOf(cmd);
      const kinds = [o.person ? 1 : 0, o.merchant ? 1 : 0, o.operator ? 1 : 0].reduce((a, b) => a + b, 0);
      if (kinds !== 1) throw new UsageError("give exactly one of --person <id>, --merchant <id>, --operator");
      const r = await ctx.admin().apiKeys.create({
        kind: o.person ? "person" : o.merchant ? "merchant" : "operator", ...(o.person ? { ownerId: o.person } : {}), ...(o.merchant ? { merchantId: o.merchant } : {}), ...(o.name ? { name: o.name } : {}),
      });
      print(ctx.out, r, () => `${status("created")} ${r.apiKey.kind} key ${r.apiKey.id}\nsecret (shown once): ${r.secret}`);
    });
  c.command("rotate <keyId>").option("--grace <duration>", "the old key keeps working this long, e.g. 15m").action(async (id, o, cmd) => {
    const ctx = ctxOf(cmd);
    const r = await ctx.admin().apiKeys.rotate(id, o.grace ? { grace: o.grace } : {});
    print(ctx.out, r, () => `${status("created")} key ${r.apiKey.id} replaces ${id}\nsecret (shown once): ${r.secret}`);
  });
  c.command("revoke <keyId>").action(async (id, _o, cmd) => {
    const ctx = ctxOf(cmd);
    const r = await ctx.admin().apiKeys.revoke(id);
    print(ctx.out, r, () => `${status("revoked")} ${r.id}`);
  });
  return c;
}

export { need };
