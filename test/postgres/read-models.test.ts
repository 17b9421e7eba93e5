import { expect } from "chai";
import type { Account, Payment, Transfer } from "../../src/index.ts";
import { freshSchema, pgUrl, pgWorld, sql, until } from "./helpers.ts";

/** Waits until the projector has folded every log position the leader wrote. */
async function projected(schema: string, position: number): Promise<void> {
  await until(async () => (await sql<{ pos: string }>(pgUrl(), `SELECT pos FROM ${schema}.snapshot`))[0]!.pos === String(position), "the projector catches up");
}

describe("PostgreSQL read models (accounts, transfers, payments, approvals, events)", function () {
  this.timeout(120_000);

  it("match the engine's state after a payments scenario, amounts to the minor unit; pruned events stay", async () => {
    const schema = freshSchema();
    const w = await pgWorld(schema);
    const { pay, client, travel, air, usd } = w;
    try {
      const r1 = await client.requestPayment({ subWalletId: travel.id, merchantId: air, amount: usd("80.00"), reference: "flight-1" });
      if (r1.status !== "approved") throw new Error("expected a token");
      await pay.payments.redeem({ token: r1.token, merchantId: air, amount: usd("78.50"), idempotencyKey: "cap-1" });
      await pay.payments.refund({ paymentId: r1.paymentId, merchantId: air, amount: usd("18.50"), idempotencyKey: "rf-1" });
      const r2 = await client.requestPayment({ subWalletId: travel.id, merchantId: air, amount: usd("120.00"), reference: "flight-2" });
      if (r2.status !== "pending_approval") throw new Error("expected an approval");
      await pay.approvals.approve(r2.approvalId, { by: "alice" });
      const r3 = await client.requestPayment({ subWalletId: travel.id, merchantId: air, amount: usd("5.00") });
      if (r3.status !== "approved") throw new Error("expected a token");
      await client.voidPayment(r3.paymentId);
      await projected(schema, pay.replication!.position);

      const accounts = await sql<Record<string, string>>(pgUrl(), `SELECT id, currency, debits_pending, debits_posted, credits_pending, credits_posted FROM ${schema}.accounts ORDER BY id`);
      const engineAccounts = [...pay.engine.scan<Account>("ac/")].map(([, a]) => a).sort((a, b) => (a.id < b.id ? -1 : 1));
      expect(accounts).to.deep.equal(engineAccounts.map((a) => ({
        id: a.id, currency: a.currency, debits_pending: String(a.debitsPending), debits_posted: String(a.debitsPosted),
        credits_pending: String(a.creditsPending), credits_posted: String(a.creditsPosted),
      })));

      const transfers = await sql<Record<string, string | null>>(pgUrl(), `SELECT id, kind, amount_minor, state, debit_account_id, credit_account_id FROM ${schema}.transfers ORDER BY seq`);
      const engineTransfers = [...pay.engine.scan<Transfer>("tr/")].map(([, t]) => t).sort((a, b) => a.seq - b.seq);
      expect(transfers).to.deep.equal(engineTransfers.map((t) => ({
        id: t.id, kind: t.kind, amount_minor: String(t.amountMinor), state: t.state ?? null, debit_account_id: t.debitAccountId, credit_account_id: t.creditAccountId,
      })));

      const payments = await sql<Record<string, string | null>>(pgUrl(), `SELECT id, status, amount_minor, captured_minor, refunded_minor, reference, decision FROM ${schema}.payments ORDER BY created_at, id`);
      const byId = new Map(payments.map((p) => [p.id, p]));
      for (const [, p] of pay.engine.scan<Payment>("pm/")) {
        expect(byId.get(p.id), p.id).to.deep.equal({
          id: p.id, status: p.status, amount_minor: String(p.amountMinor), captured_minor: p.capturedMinor === undefined ? null : String(p.capturedMinor),
          refunded_minor: p.refundedMinor === undefined ? null : String(p.refundedMinor), reference: p.reference ?? null, decision: p.decision.outcome,
        });
      }
      expect(payments.map((p) => p.status).sort()).to.deep.equal(["authorized", "captured", "voided"]);
      expect(byId.get(r1.paymentId)).to.include({ captured_minor: "7850", refunded_minor: "1850" });

      const approvals = await sql<Record<string, string>>(pgUrl(), `SELECT id, status, subject_kind, subject_id, resolved_by FROM ${schema}.approvals`);
      expect(approvals).to.deep.equal([{ id: r2.approvalId, status: "approved", subject_kind: "payment", subject_id: r2.paymentId, resolved_by: "alice" }]);

      // The read models are the engine's, in SQL: conservation holds there too.
      const [sums] = await sql<{ d: string; c: string }>(pgUrl(), `SELECT sum(debits_posted) AS d, sum(credits_posted) AS c FROM ${schema}.accounts`);
      expect(sums!.d).to.equal(sums!.c);

      const events = await sql<{ id: string; type: string }>(pgUrl(), `SELECT id, type FROM ${schema}.events ORDER BY created_at, id`);
      const engineEvents = [...pay.engine.scan<{ id: string; type: string }>("ev/")].map(([, e]) => e);
      expect(events.map((e) => e.id).sort()).to.deep.equal(engineEvents.map((e) => e.id).sort());
      expect(events.map((e) => e.type)).to.include.members(["payment.authorized", "payment.captured", "approval.requested"]);
      // The engine prunes old events; their history stays in the read model.
      const pruned = await pay.events.prune({ olderThanMs: 0 });
      expect(pruned).to.be.greaterThan(0);
      await projected(schema, pay.replication!.position);
      expect([...pay.engine.scan("ev/")].length).to.equal(engineEvents.length - pruned);
      expect((await sql(pgUrl(), `SELECT id FROM ${schema}.events`)).length).to.equal(events.length);
      // No destination (they may name secrets) is copied.
      const columns = await sql<{ column_name: string }>(pgUrl(), "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'events'", [schema]);
      expect(columns.map((c) => c.column_name).sort()).to.deep.equal(["created_at", "data", "id", "log_pos", "subject", "type"]);
    } finally {
      await pay.close();
    }
  });

  it("each row carries the log position that last wrote it, and an older position never overwrites a newer one", async () => {
    const schema = freshSchema();
    const w = await pgWorld(schema);
    const { pay, client, travel, air, usd } = w;
    try {
      const r = await client.requestPayment({ subWalletId: travel.id, merchantId: air, amount: usd("10.00") });
      if (r.status !== "approved") throw new Error("expected a token");
      await projected(schema, pay.replication!.position);
      const authorizedAt = (await sql<{ log_pos: string }>(pgUrl(), `SELECT log_pos FROM ${schema}.payments WHERE id = $1`, [r.paymentId]))[0]!.log_pos;
      await pay.payments.redeem({ token: r.token, merchantId: air, amount: usd("10.00"), idempotencyKey: "c" });
      await projected(schema, pay.replication!.position);
      const row = (await sql<{ status: string; log_pos: string }>(pgUrl(), `SELECT status, log_pos FROM ${schema}.payments WHERE id = $1`, [r.paymentId]))[0]!;
      expect(row.status).to.equal("captured");
      expect(Number(row.log_pos)).to.be.greaterThan(Number(authorizedAt));
      // The older position's write projected again (a projector re-running a range) leaves the newer row.
      const { statements } = await import("../../src/postgres/sql.ts");
      const [rec] = await sql<{ value: string }>(pgUrl(), `SELECT value FROM ${schema}.snapshot_record WHERE key = $1`, [`pm/${r.paymentId}`]);
      const older = { ...JSON.parse(rec!.value), status: "authorized" };
      await sql(pgUrl(), statements(schema).project, [JSON.stringify([[`ev/evt_made_up`, Number(authorizedAt), { id: "evt_made_up", type: "x", createdAtMs: 0, subject: {} }], [`pm/${r.paymentId}`, Number(authorizedAt), older]])]);
      const after = (await sql<{ status: string; log_pos: string }>(pgUrl(), `SELECT status, log_pos FROM ${schema}.payments WHERE id = $1`, [r.paymentId]))[0]!;
      expect(after).to.deep.equal(row);
      expect((await sql(pgUrl(), `SELECT id FROM ${schema}.events WHERE id = 'evt_made_up'`)).length).to.equal(1); // the statement did run
    } finally {
      await pay.close();
    }
  });
});
