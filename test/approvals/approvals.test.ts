import { expect } from "chai";
import { AgentPay, ManualClock } from "../../src/index.ts";
import { createApprovalIn } from "../../src/approvals/index.ts";
import type { Approvals } from "../../src/approvals/index.ts";
import type { ApprovalRequest } from "../../src/approvals/index.ts";
import { rejectsWith } from "../ledger/helpers.ts";

async function setup() {
  const clock = new ManualClock();
  const pay = await AgentPay.open({ memory: true, clock });
  const effects: string[] = [];
  pay.approvals.onResolve("test", {
    approved: (tx, a) => {
      tx.put(`effect/${a.id}`, "went ahead");
      effects.push(`approved ${a.id}`);
      return { done: true };
    },
    denied: (_tx, a) => effects.push(`${a.status} ${a.id}`),
  });
  const ask = () => pay.engine.submit((tx) => createApprovalIn(tx, {
    ownerId: "alice", subWalletId: "sw_x", agentId: "agt_x", subject: { kind: "test", id: "pay_1" },
    summary: { merchant: "SkyAir", amount: "120.00 USD" }, reasons: [{ code: "APPROVAL_THRESHOLD", message: "above 100.00" }],
  }));
  return { pay, clock, effects, ask };
}

describe("approvals", () => {
  it("approved: the subject's continuation runs in the same command; approving twice is refused", async () => {
    const { pay, effects, ask } = await setup();
    const a = await ask();
    expect(pay.approvals.listPending({ ownerId: "alice" }).map((x) => x.id)).to.deep.equal([a.id]);
    const r = await (pay.approvals as unknown as Approvals).approve<{ done: boolean }>(a.id, { by: "alice", note: "ok" });
    expect(r.approval.status).to.equal("approved");
    expect(r.result).to.deep.equal({ done: true });
    expect(pay.engine.read(`effect/${a.id}`)).to.equal("went ahead");
    const err = await rejectsWith(pay.approvals.approve(a.id), "APPROVAL_ALREADY_RESOLVED");
    expect(err.details).to.include({ status: "approved" });
    await rejectsWith(pay.approvals.deny(a.id), "APPROVAL_ALREADY_RESOLVED");
    expect(effects).to.deep.equal([`approved ${a.id}`]);
    expect(pay.approvals.listPending()).to.deep.equal([]);
  });

  it("denied: recorded once, the continuation does not run", async () => {
    const { pay, effects, ask } = await setup();
    const a = await ask();
    const r = await pay.approvals.deny(a.id, { by: "alice" });
    expect(r.approval.status).to.equal("denied");
    expect(pay.engine.read(`effect/${a.id}`)).to.equal(undefined);
    await rejectsWith(pay.approvals.approve(a.id), "APPROVAL_ALREADY_RESOLVED");
    expect(effects).to.deep.equal([`denied ${a.id}`]);
  });

  it("expired: counts as a denial, cannot be approved, the sweeper records it", async () => {
    const { pay, clock, effects, ask } = await setup();
    const a: ApprovalRequest = await ask();
    clock.advance(15 * 60_000 - 1);
    expect(pay.approvals.get(a.id).status).to.equal("pending");
    clock.advance(1);
    expect(pay.approvals.get(a.id).status).to.equal("expired");
    await rejectsWith(pay.approvals.approve(a.id), "APPROVAL_EXPIRED");
    expect(await pay.approvals.expireDue()).to.equal(1);
    expect(await pay.approvals.expireDue()).to.equal(0);
    expect(effects).to.deep.equal([`expired ${a.id}`]);
  });

  it("a continuation that fails leaves the request pending and changes nothing", async () => {
    const clock = new ManualClock();
    const pay = await AgentPay.open({ memory: true, clock });
    pay.approvals.onResolve("test", { approved: (tx) => { tx.put("x", 1); throw new Error("balance gone"); } });
    const a = await pay.engine.submit((tx) => createApprovalIn(tx, {
      ownerId: "o", subWalletId: "sw_x", agentId: "agt_x", subject: { kind: "test", id: "p" }, summary: {}, reasons: [],
    }));
    await pay.approvals.approve(a.id).catch(() => undefined);
    expect(pay.approvals.get(a.id).status).to.equal("pending");
    expect(pay.engine.read("x")).to.equal(undefined);
  });

  it("rejects bad ids and notes", async () => {
    const { pay, ask } = await setup();
    const a = await ask();
    await rejectsWith(pay.approvals.approve("nope"), "INVALID_ID");
    await rejectsWith(pay.approvals.approve("apr_0000000000000"), "APPROVAL_NOT_FOUND");
    await rejectsWith(pay.approvals.approve(a.id, { note: "x".repeat(501) }), "INVALID_INPUT");
    expect(pay.approvals.get(a.id).status).to.equal("pending");
  });
});
