// npm run demo — a narrated tour of agentpay that checks every step it tells: it exits
// non-zero the moment something does not behave as described. Embedded LevelDB in a
// temporary directory; time is a demo clock so "ten minutes later" takes no time.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentPay, ManualClock, amount, formatAmount, isAgentPayError, verifyTokenOffline } from "../src/index.ts";

const out = (s = "") => console.log(s);
const usd = (s: string) => amount(s, "USD");
const $ = (minor: bigint) => `$${formatAmount({ minor, currency: "USD" })}`;
let failures = 0;
function check(cond: boolean, what: string): void {
  if (!cond) {
    console.error(`  ✗ ${what}`);
    failures++;
    throw new Error(`demo step failed: ${what}`);
  }
  out(`  ✓ ${what}`);
}
async function refused(p: Promise<unknown>, code: string): Promise<Record<string, unknown>> {
  try {
    await p;
  } catch (e) {
    if (isAgentPayError(e, code)) return e.details as Record<string, unknown>;
    throw e;
  }
  throw new Error(`expected ${code}`);
}
function act(n: number, title: string, why: string): void {
  out(`\n${n}. ${title}`);
  out(`   ${why}`);
}

export async function runDemo(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "agentpay-demo-"));
  const clock = new ManualClock(Date.now());
  try {
    const pay = await AgentPay.open({ dir, clock, delivery: false, background: false });

    act(1, "Alice funds her AI wallet", "Deposits come from outside; the idempotency key makes a retried deposit harmless.");
    const wallet = await pay.wallets.create({ owner: "alice", currency: "USD", timeZone: "Europe/Paris" });
    await pay.wallets.deposit(wallet.id, usd("500.00"), { idempotencyKey: "bank-transfer-1" });
    await pay.wallets.deposit(wallet.id, usd("500.00"), { idempotencyKey: "bank-transfer-1" });
    check(pay.wallets.balance(wallet.id).postedMinor === 50000n, `the wallet holds ${$(pay.wallets.balance(wallet.id).postedMinor)} after the deposit was sent twice`);

    act(2, "She gives her trip-planning agent a sub-wallet, rules and a grant",
      "The sub-wallet has its own ledger account and budget; the policy caps each payment, asks her above $100 and allows only airlines and hotels.");
    const travel = await pay.wallets.createSubWallet(wallet.id, {
      name: "travel", budget: usd("300.00"),
      policy: { perPayment: "250.00", daily: "400.00", approvalAbove: "100.00", categories: { allow: ["4511", "7011"] } },
    });
    const planner = await pay.agents.register({ name: "trip-planner" });
    const grant = await pay.grants.create({ subWalletId: travel.id, agentId: planner.agent.id, scopes: ["pay"], mode: "session", expiresIn: "24h" });
    const skyair = await pay.merchants.register({ name: "SkyAir", category: "4511" });
    const hotel = await pay.merchants.register({ name: "Hotel Nord", category: "7011" });
    check(pay.wallets.balance(travel.id).postedMinor === 30000n, `travel has ${$(30000n)}; the wallet keeps ${$(pay.wallets.balance(wallet.id).postedMinor)}`);
    check(grant.scopes.includes("pay") && grant.expiresAtMs === clock.nowMs() + 86_400_000, "the grant lets the agent pay for 24 hours, revocable at once");
    const agentA = pay.agentClient({ agentId: planner.agent.id, privateKeyJwk: planner.privateKeyJwk! });

    act(3, "The agent books a flight: $80.00 at SkyAir",
      "It signs an intent with its own key. The grant, the policy and the risk engine decide in one engine command.");
    const r1 = await agentA.requestPayment({ subWallet: travel.id, merchant: skyair.merchant.id, amount: usd("80.00"), reference: "flight-PAR-LIS" });
    check(r1.status === "pending_approval", "nobody has ever paid SkyAir through agentpay, so the risk engine asks Alice instead of deciding alone");
    for (const reason of r1.decision.risk.reasons) out(`     risk: ${reason.code}: ${reason.message}`);
    check(pay.wallets.balance(travel.id).pendingDebitsMinor === 0n, "nothing is held while Alice decides");
    if (r1.status !== "pending_approval") return;

    act(4, "Alice approves", "Approving resumes exactly the authorized path: hold, token and events in one command, the grant and balance checked again.");
    await pay.approvals.approve(r1.approvalId, { by: "alice" });
    const fetched = await agentA.fetchToken(r1.paymentId);
    check(fetched.status === "authorized" && fetched.token !== undefined, "the agent fetches its single-use token");
    const token = fetched.token!;
    check(pay.wallets.balance(travel.id).pendingDebitsMinor === 8000n, `a ${$(8000n)} hold sits on the travel sub-wallet`);

    act(5, "SkyAir checks the token offline and redeems $78.50", "The token is a JWS any JOSE library verifies against the JWKS; only the issuer can redeem it, once.");
    const claims = verifyTokenOffline(token, pay.tokens.jwks(), { audience: skyair.merchant.id, nowMs: clock.nowMs() });
    check(claims.amount.minor === 8000n && claims.merchantId === skyair.merchant.id, `the token names SkyAir, caps ${$(claims.amount.minor)} and expires in ${(claims.expiresAtMs - clock.nowMs()) / 60_000} minutes`);
    const receipt = await pay.payments.redeem({ token, merchant: skyair.merchant.id, amount: usd("78.50"), idempotencyKey: "skyair-cap-1" });
    check(receipt.capturedMinor === 7850n && receipt.releasedMinor === 150n, `captured ${$(receipt.capturedMinor)}; the other ${$(receipt.releasedMinor)} went back to the budget`);

    act(6, "Someone replays the token", "A copy of a used token is worth nothing: redemption is one engine command, so exactly one ever wins.");
    await refused(pay.payments.redeem({ token, merchant: skyair.merchant.id, amount: usd("78.50"), idempotencyKey: "replay" }), "TOKEN_ALREADY_REDEEMED");
    check(true, "refused with TOKEN_ALREADY_REDEEMED; nothing moved");

    clock.advance(2 * 3_600_000);
    act(7, "Two hours later, the hotel: $90.00 at Hotel Nord", "Within every limit, but new to everyone and just under Alice's $100 threshold: she is asked again, and says yes.");
    const r2 = await agentA.requestPayment({ subWallet: travel.id, merchant: hotel.merchant.id, amount: usd("90.00"), reference: "hotel-LIS-2n" });
    check(r2.status === "pending_approval", `review: ${r2.decision.risk.reasons.map((x) => x.code).join(", ")}`);
    if (r2.status !== "pending_approval") return;
    const approved = await pay.approvals.approve<{ status: string; token: string }>(r2.approvalId, { by: "alice" });
    const hotelReceipt = await pay.payments.redeem({ token: approved.result!.token, merchant: hotel.merchant.id, amount: usd("90.00"), idempotencyKey: "hotel-1" });
    check(hotelReceipt.capturedMinor === 9000n, `Hotel Nord captured ${$(hotelReceipt.capturedMinor)}`);

    act(8, "A prompt-injected loop: the agent buys the same $20.00 seat again and again",
      "The first goes through. The repeats look like a runaway loop and go to Alice; at ten attempts in a minute the risk engine declines outright.");
    const loop: string[] = [];
    let declineReasons: Array<{ code: string; message: string }> = [];
    for (let i = 0; i < 12; i++) {
      try {
        const r = await agentA.requestPayment({ subWallet: travel.id, merchant: skyair.merchant.id, amount: usd("20.00") });
        loop.push(r.status);
      } catch (e) {
        if (!isAgentPayError(e, "PAYMENT_DECLINED")) throw e;
        loop.push("declined");
        declineReasons = (e.details as { reasons: typeof declineReasons }).reasons;
      }
      clock.advance(3_000);
    }
    out(`   attempts: ${loop.join(" → ")}`);
    check(loop[0] === "approved" && loop[1] === "pending_approval" && loop.includes("declined"), "one approved, the repeats reviewed, then declined");
    out("   the risk engine's reasons for the decline:");
    for (const r of declineReasons) out(`     ${r.code}: ${r.message}`);
    const pending = pay.approvals.listPending({ ownerId: "alice" });
    for (const a of pending) await pay.approvals.deny(a.id, { by: "alice", note: "runaway loop" });
    check(pending.length === loop.filter((x) => x === "pending_approval").length, `Alice denies the ${pending.length} repeats waiting for her; nothing was held for them`);

    act(9, "SkyAir refunds $18.50 of the flight", "Never more than was captured; the refund also gives the budget back.");
    const usedBefore = pay.wallets.budget(travel.id).daily.usedMinor;
    await pay.payments.refund({ payment: r1.paymentId, merchant: skyair.merchant.id, amount: usd("18.50"), idempotencyKey: "skyair-refund-1" });
    await refused(pay.payments.refund({ payment: r1.paymentId, merchant: skyair.merchant.id, amount: usd("60.01"), idempotencyKey: "skyair-refund-2" }), "REFUND_EXCEEDS_CAPTURE");
    check(pay.wallets.budget(travel.id).daily.usedMinor === usedBefore - 1850n, "refunded; a second refund beyond the capture is refused (REFUND_EXCEEDS_CAPTURE)");

    clock.advance(11 * 60_000);
    act(10, "The loop's one $20.00 token is never used", "Ten minutes later it expires; the sweeper voids its hold and gives the budget back.");
    const expired = await pay.payments.expireDue();
    check(expired === 1 && pay.wallets.balance(travel.id).pendingDebitsMinor === 0n, "one hold released; nothing is held any more");

    act(11, "Close, reopen, and reconcile", "Everything acknowledged is on disk; the ledger proves Σ debits = Σ credits and every balance from its transfers.");
    await pay.close();
    const again = await AgentPay.open({ dir, clock, delivery: false, background: false });
    out("   the travel sub-wallet's statement:");
    for (const e of again.wallets.statement(travel.id).entries) {
      out(`     #${String(e.seq).padStart(3)} ${e.kind.padEnd(7)} ${e.direction.padEnd(6)} ${$(e.amountMinor).padStart(8)}  balance ${$(e.balanceAfterMinor).padStart(8)}  ${e.code ?? ""}`);
    }
    const b = again.wallets.balance(travel.id);
    // 300.00 budget − 78.50 flight − 90.00 hotel + 18.50 refund = 150.00
    check(b.postedMinor === 15000n && b.availableMinor === 15000n, `travel ends at ${$(b.postedMinor)}: ${$(30000n)} − ${$(7850n)} − ${$(9000n)} + ${$(1850n)}`);
    check(again.merchants.balanceMinor(skyair.merchant.id, "USD") === 6000n && again.merchants.balanceMinor(hotel.merchant.id, "USD") === 9000n,
      `SkyAir keeps ${$(6000n)}, Hotel Nord ${$(9000n)}`);
    const report = again.ledger.check();
    check(report.ok, `ledger invariants hold over ${report.transfers} transfers and ${report.accounts} accounts`);
    await again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runDemo().then(
    () => out("\nEverything behaved as told."),
    (e) => {
      console.error(`\n${failures ? "" : "✗ "}${(e as Error).message}`);
      process.exit(1);
    },
  );
}
