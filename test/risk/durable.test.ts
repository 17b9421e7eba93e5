import { expect } from "chai";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentPay, LogStore, ManualClock, amount, formatAmount, isAgentPayError } from "../../src/index.ts";
import type { AgentClient, AgentPayOptions, AuthorizeResult, Decision, ErrorCode, Store } from "../../src/index.ts";
import { simulate } from "../../src/risk/sim/index.ts";
import type { SimPayment, SimResult } from "../../src/risk/sim/index.ts";

// The risk engine's state must survive a restart: a simulator run driven through the public library, on a
// directory, makes the same decisions whether or not the process is closed and reopened along the way (and
// whether or not the log store has compacted in between), and a reopened engine holds exactly the state the
// closed one had.

const DAY = 86_400_000;
const usd = (minor: bigint) => amount(minor, "USD");
const dec = (minor: bigint) => formatAmount(usd(minor));

/** The simulated world's people, sub-wallets, agents and merchants, as created in one AgentPay directory. */
interface World {
  pay: AgentPay;
  clock: ManualClock;
  subWallets: Map<string, string>;                 // sim sub-wallet → sw_…
  keys: Map<string, { agentId: string; jwk: Record<string, unknown> }>;
  clients: Map<string, AgentClient>;
  merchants: Map<string, string>;                  // sim merchant → mer_…
  trippedAtMs: number;                             // the drain breaker's first trip not yet reset (-1: none)
  counts: Record<string, number>;
}

async function open(dir: string, clock: ManualClock, store?: Store): Promise<AgentPay> {
  const opts: AgentPayOptions = { clock, delivery: false, background: false, risk: {} };
  return AgentPay.open(store ? { ...opts, store } : { ...opts, dir });
}

/** Wallets for the sim's people, a sub-wallet with its person's policy per agent, the agents and their grants. */
async function setUp(pay: AgentPay, clock: ManualClock, sim: SimResult): Promise<World> {
  const w: World = { pay, clock, subWallets: new Map(), keys: new Map(), clients: new Map(), merchants: new Map(), trippedAtMs: -1, counts: {} };
  const wallets = new Map<string, string>();
  const seen = new Set<string>();
  clock.set(sim.payments[0]!.intent.atMs - 300 * DAY);
  for (const p of sim.payments) {
    const it = p.intent;
    if (seen.has(it.subWalletId)) continue;
    seen.add(it.subWalletId);
    let walletId = wallets.get(it.ownerId);
    if (walletId === undefined) {
      const wallet = await pay.wallets.create({ ownerId: it.ownerId, currency: "USD", timeZone: "UTC" });
      await pay.wallets.deposit(wallet.id, usd(1_000_000_000n), { idempotencyKey: `dep-${it.ownerId}` });
      wallets.set(it.ownerId, (walletId = wallet.id));
    }
    const sw = await pay.wallets.createSubWallet(walletId, {
      name: it.subWalletId, budget: usd(100_000_000n),
      policy: {
        ...(it.perPaymentLimitMinor !== undefined ? { perPayment: dec(it.perPaymentLimitMinor) } : {}),
        ...(it.approvalThresholdMinor !== undefined ? { approvalAbove: dec(it.approvalThresholdMinor) } : {}),
        ...(p.allowedCategories !== undefined ? { categories: { allow: [...p.allowedCategories] } } : {}),
      },
    });
    w.subWallets.set(it.subWalletId, sw.id);
    const { agent, privateKeyJwk } = await pay.agents.register({ name: it.agentId });
    w.keys.set(it.agentId, { agentId: agent.id, jwk: privateKeyJwk! });
    // the grant is as old as the simulator says (grant age is a feature)
    const setupNow = clock.nowMs();
    clock.set(it.grantCreatedAtMs!);
    await pay.grants.create({ subWalletId: sw.id, agentId: agent.id, scopes: ["pay"], mode: "persistent" });
    clock.set(setupNow);
  }
  return w;
}

function client(w: World, simAgentId: string): AgentClient {
  let c = w.clients.get(simAgentId);
  if (c === undefined) {
    const k = w.keys.get(simAgentId)!;
    w.clients.set(simAgentId, (c = w.pay.agentClient({ agentId: k.agentId, privateKeyJwk: k.jwk })));
  }
  return c;
}

async function merchant(w: World, simMerchantId: string, category: string): Promise<string> {
  let id = w.merchants.get(simMerchantId);
  if (id === undefined) {
    id = (await w.pay.merchants.register({ name: simMerchantId, category })).merchant.id;
    w.merchants.set(simMerchantId, id);
  }
  return id;
}

// The calls whose input names the public API may rename live here, once.
const requestPayment = (c: AgentClient, subWalletId: string, merchantId: string, minor: bigint): Promise<AuthorizeResult> =>
  c.requestPayment({ subWalletId: subWalletId, merchantId: merchantId, amount: usd(minor) });
const redeem = (pay: AgentPay, token: string, merchantId: string, minor: bigint, key: string) =>
  pay.payments.redeem({ token, merchantId: merchantId, amount: usd(minor), idempotencyKey: key });
const refund = (pay: AgentPay, paymentId: string, merchantId: string, minor: bigint, key: string) =>
  pay.payments.refund({ paymentId: paymentId, merchantId: merchantId, amount: usd(minor), idempotencyKey: key });

const bump = (w: World, k: string) => { w.counts[k] = (w.counts[k] ?? 0) + 1; };

/**
 * One simulated payment through the library, as its people act: the agent asks; a person approves a
 * legitimate payment sent to them and denies an attack; the merchant captures what was approved (and
 * refunds part of every fifth), or voids it when it fails downstream; an operator resets a tripped drain
 * breaker 20 minutes after it tripped. Returns the decision, without ids.
 */
async function step(w: World, p: SimPayment, i: number): Promise<string> {
  const it = p.intent;
  // A clock that ticks every minute: payments share timestamps, as they do under load, so only the
  // order the engine learnt them in (not their time) can tell a reopen how to replay them.
  w.clock.set(Math.floor(it.atMs / 60_000) * 60_000);
  const pay = w.pay;
  const mer = await merchant(w, it.merchantId, it.category);
  let decision: Decision;
  let token: string | undefined;
  let paymentId: string;
  try {
    const r = await requestPayment(client(w, it.agentId), w.subWallets.get(it.subWalletId)!, mer, it.amountMinor);
    decision = r.decision;
    paymentId = r.paymentId;
    if (r.status === "approved") token = r.token;
    else if (r.status === "pending_approval") {
      if (p.label === "legit") {
        token = (await pay.approvals.approve(r.approvalId, { by: "person" })).result!.token;
        bump(w, "approved");
      } else {
        await pay.approvals.deny(r.approvalId, { by: "person" });
        bump(w, "denied");
      }
    }
  } catch (e) {
    if (!isAgentPayError(e, "PAYMENT_DECLINED")) throw e;
    paymentId = (e.details as { paymentId: string }).paymentId;
    decision = pay.payments.get(paymentId).decision;
    bump(w, "declined");
  }
  if (token !== undefined) {
    if (p.failsIfAllowed) {
      await pay.payments.voidByMerchant({ merchantId: mer, paymentId });
      bump(w, "voided");
    } else {
      await redeem(pay, token, mer, it.amountMinor, `cap-${i}`);
      if (i % 5 === 0) {
        await refund(pay, paymentId, mer, it.amountMinor / 2n || 1n, `ref-${i}`);
        bump(w, "refunded");
      }
    }
  }
  const st = pay.risk!.breakerStatus();
  const trips = [...st.global, ...st.owners];
  if (trips.length > 0 && w.trippedAtMs < 0) w.trippedAtMs = Math.min(...trips.map((t) => t.trippedAtMs));
  if (w.trippedAtMs >= 0 && w.clock.nowMs() >= w.trippedAtMs + 20 * 60_000) {
    await pay.risk!.resetBreaker();
    w.trippedAtMs = -1;
    bump(w, "breakerResets");
  }
  const r = decision.risk;
  return `${decision.outcome} ${r.outcome} ${r.score} ${r.hard} ${r.reasons.map((x) => x.code).join(",")} | ${decision.policy.reasons.map((x) => x.code).join(",")}`;
}

/** The risk engine's whole state, with the world's ids replaced by the simulator's (they differ between directories). */
function stateOf(w: World): string {
  const names = new Map<string, string>();
  for (const [sim, id] of w.subWallets) names.set(id, sim);
  for (const [sim, k] of w.keys) names.set(k.agentId, sim);
  for (const [sim, id] of w.merchants) names.set(id, sim);
  const json = JSON.stringify({ state: w.pay.risk!.exportState(), breaker: w.pay.risk!.breakerStatus() });
  return json.replace(/\b(?:sw|agt|mer)_[0-9a-z]+/g, (id) => names.get(id) ?? `unknown:${id}`);
}

describe("risk engine state is durable (a simulator run through AgentPay on a directory)", function () {
  this.timeout(600_000);
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), "agentpay-risk-durable-"));
    dirs.push(d);
    return d;
  };
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("decisions after a close/reopen, and after a log-store compaction, equal those of a run without one; the reopened engine has the state the closed one had", async () => {
    const sim = simulate({
      seed: 3, agents: 70, warmupDays: 8, days: 3, massCompromiseShare: 0.3,
      attacks: { runaway_loop: 2, scope_drift: 4, amount_spike: 4, payee_swap: 3, slow_drain: 2, card_testing: 1, mass_compromise: 1 },
    });
    const payments = sim.payments;
    console.log(`      ${payments.length} payments, ${payments.filter((p) => p.label !== "legit").length} of them attacks`);
    const k1 = Math.floor(payments.length * 0.4), k2 = Math.floor(payments.length * 0.75);

    // A: one process from start to end
    const dirA = tmp();
    const clockA = new ManualClock();
    const a = await setUp(await open(dirA, clockA), clockA, sim);
    const decisionsA: string[] = [];
    const stateA: string[] = [];
    for (let i = 0; i < payments.length; i++) {
      if (i === k1 || i === k2) stateA.push(stateOf(a));
      decisionsA.push(await step(a, payments[i]!, i));
    }
    await a.pay.close();

    // B: the same, closed and reopened at k1 and k2; between them the log store compacts every few writes
    const dirB = tmp();
    const clockB = new ManualClock();
    const b = await setUp(await open(dirB, clockB), clockB, sim);
    const decisionsB: string[] = [];
    const reopen = async (store?: Store) => {
      const before = stateOf(b);
      await b.pay.close();
      b.pay = await open(dirB, clockB, store);
      b.clients.clear();
      const after = stateOf(b);
      expect(after, "the reopened engine's state").to.equal(before);
      expect(after).to.not.contain("unknown:");
      return after;
    };
    for (let i = 0; i < payments.length; i++) {
      // reopened at k1 on a log store that compacts every few writes, and at k2 on the directory as it is
      if (i === k1) expect(await reopen(new LogStore(dirB, { compactMinBytes: 64 * 1024 })), "state at k1").to.equal(stateA[0]);
      if (i === k2) {
        expect(await reopen(), "state at k2").to.equal(stateA[1]);
        expect(readdirSync(dirB).some((f) => /^snap-\d+\.aps$/.test(f)), "the log store compacted into a snapshot").to.equal(true);
      }
      decisionsB.push(await step(b, payments[i]!, i));
    }
    await b.pay.close();
    expect(existsSync(join(dirB, "agentpay.lock"))).to.equal(false);

    // the run exercised what the engine learns from
    for (const k of ["approved", "denied", "declined", "voided", "refunded"]) expect(b.counts[k] ?? 0, k).to.be.greaterThan(0);
    console.log("      counts:", JSON.stringify(b.counts));
    expect(b.counts).to.deep.equal(a.counts);
    expect(decisionsB).to.deep.equal(decisionsA);
  });

  it("a drain-breaker trip survives a restart, and so does an operator's reset of it", async () => {
    const dir = tmp();
    const clock = new ManualClock(Date.UTC(2026, 5, 10, 12));
    const risk = { rules: { version: "breaker-only", thresholds: { review: 1, decline: 2 }, rules: [] }, breaker: { ownerMultiplier: 1, ownerMinMinor: 5_000 } };
    let pay = await AgentPay.open({ dir, clock, delivery: false, background: false, risk });
    const wallet = await pay.wallets.create({ ownerId: "alice", currency: "USD", timeZone: "UTC" });
    await pay.wallets.deposit(wallet.id, usd(100_000n), { idempotencyKey: "d" });
    const sw = await pay.wallets.createSubWallet(wallet.id, { name: "errands", budget: usd(50_000n) });
    const { agent, privateKeyJwk } = await pay.agents.register({ name: "errands" });
    await pay.grants.create({ subWalletId: sw.id, agentId: agent.id, scopes: ["pay"], mode: "persistent" });
    const mer = (await pay.merchants.register({ name: "Shop", category: "5411" })).merchant.id;
    const ask = async (minor: bigint) => {
      clock.advance(60_000);
      return requestPayment(pay.agentClient({ agentId: agent.id, privateKeyJwk: privateKeyJwk! }), sw.id, mer, minor);
    };
    const reopen = async () => {
      await pay.close();
      pay = await AgentPay.open({ dir, clock, delivery: false, background: false, risk });
    };

    expect((await ask(4_000n)).status).to.equal("approved");
    // $60 within the hour is over alice's $50 floor: the person is asked, and once she approves the breaker is open
    const tripping = await ask(2_000n);
    if (tripping.status !== "pending_approval") throw new Error(`expected a review, got ${tripping.status}`);
    expect(tripping.decision.risk.reasons.map((r) => r.code)).to.deep.equal(["OWNER_DRAIN_TRIP"]);
    await pay.approvals.approve(tripping.approvalId, { by: "alice" });
    expect(pay.risk!.breakerStatus().owners.map((t) => t.key)).to.deep.equal(["alice"]);
    await reopen();
    expect(pay.risk!.breakerStatus().owners.map((t) => t.key), "still open after a restart").to.deep.equal(["alice"]);
    const held = await ask(1_000n);
    expect(held.status).to.equal("pending_approval");
    expect(held.decision.risk.reasons.map((r) => r.code)).to.deep.equal(["OWNER_DRAIN_OPEN"]);

    await rejects(pay.risk!.resetBreaker(42 as unknown as string), "INVALID_INPUT");
    await pay.risk!.resetBreaker("alice");
    expect(pay.risk!.breakerStatus().owners).to.deep.equal([]);
    clock.advance(2 * 3_600_000);
    await reopen();
    expect(pay.risk!.breakerStatus().owners, "the reset outlives a restart").to.deep.equal([]);
    const after = await ask(1_000n);
    expect(after.decision.risk.reasons).to.deep.equal([]);
    expect(after.status).to.equal("approved");
    await pay.close();
  });
});

async function rejects(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(isAgentPayError(e, code), String(e)).to.equal(true);
    return;
  }
  expect.fail(`expected ${code}`);
}
