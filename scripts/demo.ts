// npm run demo — a narrated tour. For now: the ledger story (open, fund, hold,
// capture, refund, statement). Exits non-zero if any step does not behave as told.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentPay, amount, formatAmount, isAgentPayError } from "../src/index.ts";

const say = (s: string) => console.log(s);
const money = (minor: bigint) => `$${formatAmount({ minor, currency: "USD" })}`;
function check(cond: boolean, what: string): void {
  if (!cond) {
    console.error(`\n✗ demo step failed: ${what}`);
    process.exit(1);
  }
  say(`  ✓ ${what}`);
}

const dir = mkdtempSync(join(tmpdir(), "agentpay-demo-"));
try {
  say(`1. Open agentpay on an embedded LevelDB in ${dir}`);
  let pay = await AgentPay.open({ dir });
  const { ledger } = pay;

  say("\n2. Accounts: a funding source (the outside world), Alice's wallet (never below zero), a merchant.");
  await ledger.createAccount({ id: "funding", currency: "USD" });
  await ledger.createAccount({ id: "alice", currency: "USD", flags: { debitsMustNotExceedCredits: true } });
  await ledger.createAccount({ id: "skyair", currency: "USD" });

  say("\n3. Alice deposits $500.00. The transfer id is the idempotency key, so a retried deposit is not doubled.");
  await ledger.transfer({ id: "deposit-1", debitAccountId: "funding", creditAccountId: "alice", amount: amount("500.00", "USD") });
  await ledger.transfer({ id: "deposit-1", debitAccountId: "funding", creditAccountId: "alice", amount: amount("500.00", "USD") });
  check(ledger.balance("alice").postedMinor === 50000n, `Alice has ${money(ledger.balance("alice").postedMinor)} after a deposit sent twice`);

  say("\n4. An agent books a flight: a $120.00 hold (pending transfer) that expires in 10 minutes.");
  await ledger.transfer({ id: "hold-42", debitAccountId: "alice", creditAccountId: "skyair", amount: amount("120.00", "USD"), pending: true, timeoutMs: 600_000 });
  const held = ledger.balance("alice");
  check(held.availableMinor === 38000n && held.pendingDebitsMinor === 12000n,
    `available ${money(held.availableMinor)}, held ${money(held.pendingDebitsMinor)}`);

  say("\n5. The merchant captures $118.50 of the hold; the remaining $1.50 is released at once.");
  await ledger.post({ id: "capture-42", pendingId: "hold-42", amount: amount("118.50", "USD") });
  check(ledger.balance("alice").availableMinor === 38150n, `Alice now has ${money(ledger.balance("alice").availableMinor)}`);
  try {
    await ledger.post({ pendingId: "hold-42" });
    check(false, "a second capture must be refused");
  } catch (e) {
    check(isAgentPayError(e, "TRANSFER_ALREADY_RESOLVED"), "a second capture of the same hold is refused (TRANSFER_ALREADY_RESOLVED)");
  }

  say("\n6. The merchant refunds $18.50.");
  await ledger.transfer({ id: "refund-42", debitAccountId: "skyair", creditAccountId: "alice", amount: amount("18.50", "USD") });
  check(ledger.balance("skyair").postedMinor === 10000n, `SkyAir keeps ${money(ledger.balance("skyair").postedMinor)}`);

  say("\n7. Close and reopen: state comes back exactly as acknowledged.");
  await pay.close();
  pay = await AgentPay.open({ dir });
  say("\n   Alice's statement:");
  for (const e of pay.ledger.statement("alice").entries) {
    say(`   #${e.seq} ${e.kind.padEnd(7)} ${e.direction.padEnd(6)} ${money(e.amountMinor).padStart(8)}  balance ${money(e.balanceAfterMinor)}  (${e.transferId})`);
  }
  check(pay.ledger.balance("alice").postedMinor === 40000n, `Alice ends with ${money(pay.ledger.balance("alice").postedMinor)}`);
  const report = pay.ledger.check();
  check(report.ok, `ledger invariants hold: Σ debits = Σ credits (${report.transfers} transfers, ${report.accounts} accounts)`);
  await pay.close();
  say("\nDone.");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
