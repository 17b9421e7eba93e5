// npm run demo — a narrated tour of agentpay that checks every step it tells: it exits
// non-zero the moment something does not behave as described. The embedded log store in a
// temporary directory, an in-process Hardhat chain for the on-chain half; time is a demo
// clock (set from the chain) so "ten minutes later" takes no time.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentPay, ManualClock, amount, formatAmount, isAgentPayError, verifyTokenOffline } from "../src/index.ts";
import type { ErrorCode } from "../src/index.ts";
import { deploySettlementContract } from "../src/chain/index.ts";

let quiet = false;
const out = (s = "") => {
  if (!quiet) console.log(s);
};
const usd = (s: string) => amount(s, "USD");
const $ = (minor: bigint) => `$${formatAmount({ minor, currency: "USD" })}`;
const usdc = (minor: bigint) => `${formatAmount({ minor, currency: "USDC" }, assets)} USDC`;
const assets = new (await import("../src/index.ts")).CurrencyRegistry();
assets.registerAsset("USDC", 6);
let failures = 0;
function check(cond: boolean, what: string): void {
  if (!cond) {
    if (!quiet) console.error(`  ✗ ${what}`);
    failures++;
    throw new Error(`demo step failed: ${what}`);
  }
  out(`  ✓ ${what}`);
}
async function refused(p: Promise<unknown>, code: ErrorCode): Promise<Record<string, unknown>> {
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

/** Runs the whole story; throws at the first step that does not behave as told. */
export async function runDemo(opts: { quiet?: boolean } = {}): Promise<void> {
  quiet = opts.quiet ?? false;
  const dir = mkdtempSync(join(tmpdir(), "agentpay-demo-"));
  // An in-process EVM chain (Hardhat's EDR): the settlement contract and a 6-decimal test stablecoin.
  const { network } = await import("hardhat");
  const chain = await network.create();
  const publicClient = await chain.viem.getPublicClient();
  const [deployer, aliceEoa, computeEoa] = await chain.viem.getWalletClients();
  if (!deployer || !aliceEoa || !computeEoa) throw new Error("the local chain has no accounts");
  const chainTimeMs = async () => Number((await publicClient.getBlock()).timestamp) * 1000;
  const clock = new ManualClock(await chainTimeMs());
  try {
    const pay = await AgentPay.open({ dir, clock, delivery: false, background: false, chain: true });
    pay.currencies.registerAsset("USDC", 6);

    act(1, "Alice funds her AI wallet", "Deposits come from outside; the idempotency key makes a retried deposit harmless.");
    const wallet = await pay.wallets.create({ ownerId: "alice", currency: "USD", timeZone: "Europe/Paris" });
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

    act(3, "She also funds an on-chain escrow for her API-credits agent",
      "The settlement contract (no owner, no admin key) holds her USDC in a bucket only that agent's vouchers can spend; the ledger mirrors it.");
    const deployed = await deploySettlementContract({ publicClient: publicClient as never, walletClient: deployer as never });
    const stable = await chain.viem.deployContract("TestStablecoin");
    await stable.write.mint([aliceEoa.account.address, 1_000_000_000n]);
    const settlement = deployed.settlement;
    const usdcWallet = await pay.wallets.create({ ownerId: "alice", currency: "USDC", timeZone: "UTC" });
    const credits = await pay.wallets.createSubWallet(usdcWallet.id, { name: "api-credits", policy: { perPayment: "25.00", daily: "100.00" } });
    const creditsBot = await pay.agents.register({ name: "credits-bot" });
    await pay.grants.create({ subWalletId: credits.id, agentId: creditsBot.agent.id, scopes: ["pay"], mode: "persistent" });
    const computeCo = await pay.merchants.register({ name: "ComputeCo", category: "5734", settlement: "chain", chainAddress: computeEoa.account.address });
    const botAddress = await pay.chain.agentAddress(creditsBot.agent.id);
    const chainId = await publicClient.getChainId();
    await pay.chain.bind({ subWalletId: credits.id, agentId: creditsBot.agent.id, owner: aliceEoa.account.address, token: stable.address, chainId, settlement });
    const aliceOnChain = pay.chain.client({ publicClient, walletClient: aliceEoa, address: settlement });
    await aliceOnChain.approveToken(stable.address, 100_000_000n);
    await aliceOnChain.deposit(stable.address, botAddress, 100_000_000n);
    const watcher = await pay.chain.watcher({ publicClient, settlement, fromBlock: deployed.blockNumber, confirmations: 2 });
    await chain.networkHelpers.mine(2);
    await watcher.catchUp();
    check(pay.wallets.balance(credits.id).postedMinor === 100_000_000n,
      `100 USDC sit in the bot's on-chain bucket (agent key ${botAddress.slice(0, 10)}…); the watcher mirrored the deposit after 2 confirmations`);
    check((await pay.chain.reconcile({ publicClient, settlement })).ok, "chain and ledger agree");
    const agentB = pay.agentClient({ agentId: creditsBot.agent.id, privateKeyJwk: creditsBot.privateKeyJwk! });

    act(4, "The API-credits agent buys 12 USDC of compute from ComputeCo, on-chain",
      "It gets a token AND an EIP-712 voucher signed by its own chain key; the token's vh claim is the voucher's digest. ComputeCo redeems on-chain; the watcher posts it to the ledger.");
    clock.set(await chainTimeMs());
    const rb = await agentB.requestPayment({ subWalletId: credits.id, merchantId: computeCo.merchant.id, amount: amount(12_000_000n, "USDC", pay.currencies) });
    check(rb.status === "pending_approval", "ComputeCo is new to everyone: Alice is asked first");
    if (rb.status !== "pending_approval") return;
    await pay.approvals.approve(rb.approvalId, { by: "alice" });
    const fetchedB = await agentB.fetchToken(rb.paymentId);
    const voucher = fetchedB.voucher;
    check(voucher !== undefined && verifyTokenOffline(fetchedB.token!, pay.tokens.jwks(), { audience: computeCo.merchant.id, nowMs: clock.nowMs() }).voucherHash === voucher.digest,
      `approved: the agent holds a token and its twin voucher for up to ${usdc(12_000_000n)}`);
    const computeOnChain = pay.chain.client({ publicClient, walletClient: computeEoa, address: settlement });
    const redeemed = await computeOnChain.redeem({ voucher: voucher!.voucher, signature: voucher!.signature, amount: 11_500_000n });
    out(`   ComputeCo redeemed ${usdc(11_500_000n)} on-chain (gas ${redeemed.gasUsed}); the watcher waits for 2 confirmations…`);
    await chain.networkHelpers.mine(2);
    await watcher.catchUp();
    const onchainPayment = pay.payments.get(rb.paymentId);
    check(onchainPayment.status === "captured" && onchainPayment.capturedMinor === 11_500_000n,
      `the ledger captured ${usdc(11_500_000n)}; the other ${usdc(500_000n)} of the hold went back to the budget`);
    await refused(computeOnChain.redeem({ voucher: voucher!.voucher, signature: voucher!.signature, amount: 500_000n }), "CHAIN_NONCE_USED");
    check(true, "a second redemption of the same voucher reverts on-chain (CHAIN_NONCE_USED)");

    act(5, "The flight: $80.00 at SkyAir, from the travel sub-wallet",
      "The trip planner signs an intent with its own key. The grant, the policy and the risk engine decide in one engine command.");
    const r1 = await agentA.requestPayment({ subWalletId: travel.id, merchantId: skyair.merchant.id, amount: usd("80.00"), reference: "flight-PAR-LIS" });
    check(r1.status === "pending_approval", "nobody has ever paid SkyAir through agentpay, so the risk engine asks Alice instead of deciding alone");
    for (const reason of r1.decision.risk.reasons) out(`     risk: ${reason.code}: ${reason.message}`);
    check(pay.wallets.balance(travel.id).pendingDebitsMinor === 0n, "nothing is held while Alice decides");
    if (r1.status !== "pending_approval") return;

    act(6, "Alice approves", "Approving resumes exactly the authorized path: hold, token and events in one command, the grant and balance checked again.");
    await pay.approvals.approve(r1.approvalId, { by: "alice" });
    const fetched = await agentA.fetchToken(r1.paymentId);
    check(fetched.status === "authorized" && fetched.token !== undefined, "the agent fetches its single-use token");
    const token = fetched.token!;
    check(pay.wallets.balance(travel.id).pendingDebitsMinor === 8000n, `a ${$(8000n)} hold sits on the travel sub-wallet`);

    act(7, "SkyAir checks the token offline and redeems $78.50", "The token is a JWS any JOSE library verifies against the JWKS; only the issuer can redeem it, once.");
    const claims = verifyTokenOffline(token, pay.tokens.jwks(), { audience: skyair.merchant.id, nowMs: clock.nowMs() });
    check(claims.amount.minor === 8000n && claims.merchantId === skyair.merchant.id, `the token names SkyAir, caps ${$(claims.amount.minor)} and expires in ${(claims.expiresAtMs - clock.nowMs()) / 60_000} minutes`);
    const receipt = await pay.payments.redeem({ token, merchantId: skyair.merchant.id, amount: usd("78.50"), idempotencyKey: "skyair-cap-1" });
    check(receipt.capturedMinor === 7850n && receipt.releasedMinor === 150n, `captured ${$(receipt.capturedMinor)}; the other ${$(receipt.releasedMinor)} went back to the budget`);

    act(8, "Someone replays the token", "A copy of a used token is worth nothing: redemption is one engine command, so exactly one ever wins.");
    await refused(pay.payments.redeem({ token, merchantId: skyair.merchant.id, amount: usd("78.50"), idempotencyKey: "replay" }), "TOKEN_ALREADY_REDEEMED");
    check(true, "refused with TOKEN_ALREADY_REDEEMED; nothing moved");

    clock.advance(2 * 3_600_000);
    act(9, "Two hours later, the hotel: $90.00 at Hotel Nord", "Within every limit, but new to everyone and just under Alice's $100 threshold: she is asked again, and says yes.");
    const r2 = await agentA.requestPayment({ subWalletId: travel.id, merchantId: hotel.merchant.id, amount: usd("90.00"), reference: "hotel-LIS-2n" });
    check(r2.status === "pending_approval", `review: ${r2.decision.risk.reasons.map((x) => x.code).join(", ")}`);
    if (r2.status !== "pending_approval") return;
    const approved = await pay.approvals.approve(r2.approvalId, { by: "alice" });
    const hotelReceipt = await pay.payments.redeem({ token: approved.result!.token, merchantId: hotel.merchant.id, amount: usd("90.00"), idempotencyKey: "hotel-1" });
    check(hotelReceipt.capturedMinor === 9000n, `Hotel Nord captured ${$(hotelReceipt.capturedMinor)}`);

    act(10, "A prompt-injected loop: the agent buys the same $20.00 seat again and again",
      "The first goes through. The repeats look like a runaway loop and go to Alice; at ten attempts in a minute the risk engine declines outright.");
    const loop: string[] = [];
    let declineReasons: Array<{ code: string; message: string }> = [];
    for (let i = 0; i < 12; i++) {
      try {
        const r = await agentA.requestPayment({ subWalletId: travel.id, merchantId: skyair.merchant.id, amount: usd("20.00") });
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

    act(11, "SkyAir refunds $18.50 of the flight", "Never more than was captured; the refund also gives the budget back.");
    const usedBefore = pay.wallets.budget(travel.id).daily.usedMinor;
    await pay.payments.refund({ paymentId: r1.paymentId, merchantId: skyair.merchant.id, amount: usd("18.50"), idempotencyKey: "skyair-refund-1" });
    await refused(pay.payments.refund({ paymentId: r1.paymentId, merchantId: skyair.merchant.id, amount: usd("60.01"), idempotencyKey: "skyair-refund-2" }), "REFUND_EXCEEDS_CAPTURE");
    check(pay.wallets.budget(travel.id).daily.usedMinor === usedBefore - 1850n, "refunded; a second refund beyond the capture is refused (REFUND_EXCEEDS_CAPTURE)");

    clock.advance(11 * 60_000);
    act(12, "The loop's one $20.00 token is never used", "Ten minutes later it expires; the sweeper voids its hold and gives the budget back.");
    const expired = await pay.payments.expireDue();
    check(expired === 1 && pay.wallets.balance(travel.id).pendingDebitsMinor === 0n, "one hold released; nothing is held any more");

    act(13, "Close, reopen, and reconcile", "Everything acknowledged is on disk; the ledger proves Σ debits = Σ credits and every balance from its transfers.");
    await pay.close();
    const again = await AgentPay.open({ dir, clock, delivery: false, background: false, chain: true });
    again.currencies.registerAsset("USDC", 6);
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
    const onchain = await again.chain.reconcile({ publicClient, settlement });
    check(onchain.ok && onchain.differences.length === 0,
      `the escrow and the ledger agree on all ${onchain.checked} balances (the bot's bucket: ${usdc(again.wallets.balance(credits.id).postedMinor)}; ComputeCo's credit: ${usdc(again.merchants.balanceMinor(computeCo.merchant.id, "USDC"))})`);
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
