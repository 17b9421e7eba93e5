import { expect } from "chai";
import fc from "fast-check";
import { AgentPayError, ManualClock, amount } from "../../src/core/index.ts";
import { AgentPay } from "../../src/index.ts";
import { freshSchema, pgUrl } from "../helpers/pg.ts";
import { openLedger } from "./helpers.ts";

/*
 * Property: random sequences of ledger commands, applied both to the real ledger
 * and to a deliberately simple reference model, give the same outcome (ok / error
 * code) and the same balances after every step.
 */

type Cmd =
  | { t: "transfer"; id: string; from: number; to: number; minor: bigint; pending: boolean; timeoutMs?: number }
  | { t: "post"; id: string; pending: string; minor?: bigint }
  | { t: "void"; id: string; pending: string }
  | { t: "advance"; ms: number }
  | { t: "expire" };

const ACCOUNTS = ["a0", "a1", "a2", "a3"]; // a0: unlimited source; a1, a2: no overdraft; a3: credit-limited
const ids = fc.constantFrom("t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8");

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 5, arbitrary: fc.record({
    t: fc.constant("transfer" as const), id: ids, from: fc.nat(3), to: fc.nat(3),
    minor: fc.bigInt(1n, 500n), pending: fc.boolean(),
    timeoutMs: fc.option(fc.integer({ min: 1, max: 5_000 }), { nil: undefined }),
  }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("post" as const), id: ids, pending: ids, minor: fc.option(fc.bigInt(1n, 500n), { nil: undefined }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("void" as const), id: ids, pending: ids }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("advance" as const), ms: fc.integer({ min: 1, max: 3_000 }) }) },
  { weight: 1, arbitrary: fc.constant({ t: "expire" as const }) },
);

interface MAcc { dp: bigint; dP: bigint; cp: bigint; cP: bigint; noOverdraft: boolean; creditCap: boolean }
interface MTr { kind: string; req: string; from: number; to: number; minor: bigint; state?: string; expiresAt?: number }

class Model {
  now = 0;
  acc: MAcc[] = ACCOUNTS.map((_, i) => ({ dp: 0n, dP: 0n, cp: 0n, cP: 0n, noOverdraft: i === 1 || i === 2, creditCap: i === 3 }));
  tr = new Map<string, MTr>();

  ok(a: MAcc): string | undefined {
    if (a.noOverdraft && a.dp + a.dP > a.cP) return "INSUFFICIENT_FUNDS";
    if (a.creditCap && a.cp + a.cP > a.dP) return "LIMIT_EXCEEDED";
    return undefined;
  }

  apply(c: Cmd): string {
    if (c.t === "advance") { this.now += c.ms; return "ok"; }
    if (c.t === "expire") {
      for (const t of this.tr.values()) {
        if (t.kind === "pending" && t.state === "pending" && t.expiresAt !== undefined && this.now >= t.expiresAt) {
          this.acc[t.from]!.dp -= t.minor;
          this.acc[t.to]!.cp -= t.minor;
          t.state = "expired";
        }
      }
      return "ok";
    }
    // Malformed input is refused before the idempotency lookup.
    if (c.t === "transfer" && (c.from === c.to || (c.timeoutMs !== undefined && !c.pending))) return "INVALID_INPUT";
    const req = JSON.stringify(c, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
    const prior = this.tr.get(c.id);
    if (prior) return prior.req === req ? "ok" : "IDEMPOTENCY_CONFLICT";
    if (c.t === "transfer") {
      const d = { ...this.acc[c.from]! };
      const k = { ...this.acc[c.to]! };
      if (c.pending) { d.dp += c.minor; k.cp += c.minor; } else { d.dP += c.minor; k.cP += c.minor; }
      const err = this.ok(d) ?? this.ok(k);
      if (err) return err;
      this.acc[c.from] = d;
      this.acc[c.to] = k;
      this.tr.set(c.id, {
        kind: c.pending ? "pending" : "single", req, from: c.from, to: c.to, minor: c.minor,
        ...(c.pending ? { state: "pending" } : {}),
        ...(c.timeoutMs !== undefined ? { expiresAt: this.now + c.timeoutMs } : {}),
      });
      return "ok";
    }
    const p = this.tr.get(c.pending);
    if (!p) return "TRANSFER_NOT_FOUND";
    if (p.kind !== "pending") return "TRANSFER_NOT_PENDING";
    if (p.state !== "pending") return "TRANSFER_ALREADY_RESOLVED";
    if (p.expiresAt !== undefined && this.now >= p.expiresAt) return "TRANSFER_EXPIRED";
    const postMinor = c.t === "post" ? (c.minor ?? p.minor) : 0n;
    if (postMinor > p.minor) return "LIMIT_EXCEEDED";
    const d = this.acc[p.from]!;
    const k = this.acc[p.to]!;
    d.dp -= p.minor; d.dP += postMinor;
    k.cp -= p.minor; k.cP += postMinor;
    p.state = c.t === "post" ? "posted" : "voided";
    this.tr.set(c.id, { kind: c.t, req, from: p.from, to: p.to, minor: postMinor });
    return "ok";
  }
}

/** Where a run's ledger lives, and how to check its state from a second node (PostgreSQL: a standby replaying the log). */
interface Backend {
  name: string;
  runs: number;
  /** `replica`, if any, is opened with the ledger and replays it live. */
  open(): Promise<{ pay: AgentPay; clock: ManualClock; replica?: AgentPay }>;
}

const backends: Backend[] = [
  { name: "in memory", runs: 300, open: async () => openLedger() },
  {
    name: "on PostgreSQL, and on a standby replaying its log",
    runs: 25,
    open: async () => {
      const clock = new ManualClock();
      const postgres = { url: pgUrl(), schema: freshSchema("model"), leaseMs: 1_000, pollMs: 20 };
      const pay = await AgentPay.open({ postgres, clock, delivery: false, background: false });
      const replica = await AgentPay.open({ postgres: { ...postgres, standbyOnly: true }, clock, delivery: false, background: false });
      return { pay, clock, replica };
    },
  },
];

for (const backend of backends) describe(`ledger against a reference model (property-based), ${backend.name}`, function () {
  this.timeout(300_000);
  it("agrees with the model on every outcome and balance", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmdArb, { minLength: 1, maxLength: 60 }), async (cmds) => {
        const { pay, clock, replica } = await backend.open();
        const ledger = pay.ledger;
        try {
        const start = clock.nowMs();
        await ledger.createAccount({ id: "a0", currency: "USD" });
        await ledger.createAccount({ id: "a1", currency: "USD", flags: { debitsMustNotExceedCredits: true } });
        await ledger.createAccount({ id: "a2", currency: "USD", flags: { debitsMustNotExceedCredits: true } });
        await ledger.createAccount({ id: "a3", currency: "USD", flags: { creditsMustNotExceedDebits: true } });
        const model = new Model();
        for (const c of cmds) {
          const expected = model.apply(c);
          let actual = "ok";
          try {
            if (c.t === "advance") clock.set(start + model.now);
            else if (c.t === "expire") await ledger.expireDue();
            else if (c.t === "transfer") {
              await ledger.transfer({
                id: c.id, debitAccountId: ACCOUNTS[c.from]!, creditAccountId: ACCOUNTS[c.to]!,
                amount: amount(c.minor, "USD"), pending: c.pending, ...(c.timeoutMs !== undefined ? { timeoutMs: c.timeoutMs } : {}),
              });
            } else if (c.t === "post") {
              await ledger.post({ id: c.id, pendingId: c.pending, ...(c.minor !== undefined ? { amount: amount(c.minor, "USD") } : {}) });
            } else {
              await ledger.void({ id: c.id, pendingId: c.pending });
            }
          } catch (e) {
            if (!(e instanceof AgentPayError)) throw e;
            actual = e.code;
          }
          expect(actual, JSON.stringify(c, (_k, v) => (typeof v === "bigint" ? `${v}` : v))).to.equal(expected);
          ACCOUNTS.forEach((id, i) => {
            const a = ledger.getAccount(id);
            const m = model.acc[i]!;
            expect([a.debitsPending, a.debitsPosted, a.creditsPending, a.creditsPosted], id).to.deep.equal([m.dp, m.dP, m.cp, m.cP]);
          });
        }
        const report = ledger.check();
        expect(report.problems).to.deep.equal([]);
        if (replica) {
          // The same state, replayed from the log by another node as it was written.
          const deadline = Date.now() + 30_000;
          while (replica.replication!.position < pay.replication!.position) {
            if (Date.now() > deadline) throw new Error("the replica does not catch up");
            await new Promise((r) => setTimeout(r, 10));
          }
          ACCOUNTS.forEach((id, i) => {
            const a = replica.ledger.getAccount(id);
            const m = model.acc[i]!;
            expect([a.debitsPending, a.debitsPosted, a.creditsPending, a.creditsPosted], `replica ${id}`).to.deep.equal([m.dp, m.dP, m.cp, m.cP]);
          });
          expect(replica.ledger.check().problems).to.deep.equal([]);
        }
        } finally {
          await replica?.close();
          await pay.close();
        }
      }),
      { numRuns: backend.runs },
    );
  });
});
