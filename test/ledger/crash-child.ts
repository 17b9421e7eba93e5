// Child process for the crash test: concurrent durable transfers against a store (a directory or
// "pg:<schema>", test/helpers/targets.ts); prints "ack <transferId>" for every transfer whose promise resolved.
// The parent kills it with SIGKILL at a random moment.
import { AgentPay, amount } from "../../src/index.ts";
import { storeOf } from "../helpers/targets.ts";

const [target, runId] = process.argv.slice(2) as [string, string];
const pay = await AgentPay.open(storeOf(target));
const { ledger } = pay;
await ledger.createAccount({ id: "funding", currency: "USD" });
for (let i = 0; i < 20; i++) {
  await ledger.createAccount({ id: `w${i}`, currency: "USD", flags: { debitsMustNotExceedCredits: true } });
  await ledger.transfer({ id: `seed-${i}`, debitAccountId: "funding", creditAccountId: `w${i}`, amount: amount("1000.00", "USD") });
}
process.stdout.write("ready\n");
let n = 0;
const worker = async (w: number) => {
  for (;;) {
    const k = n++;
    const from = `w${(w + k) % 20}`;
    const to = `w${(w * 7 + k * 3 + 1) % 20}`;
    if (from === to) continue;
    const id = `${runId}-${k}`;
    try {
      if (k % 3 === 0) {
        // two-phase: a hold, then a partial post, so crashes land between and inside both
        await ledger.transfer({ id: `${id}-h`, debitAccountId: from, creditAccountId: to, amount: amount(2n, "USD"), pending: true });
        process.stdout.write(`ack ${id}-h\n`);
        await ledger.post({ id: `${id}-p`, pendingId: `${id}-h`, amount: amount(1n, "USD") });
        process.stdout.write(`ack ${id}-p\n`);
      } else {
        await ledger.transfer({ id, debitAccountId: from, creditAccountId: to, amount: amount(1n, "USD") });
        process.stdout.write(`ack ${id}\n`);
      }
    } catch (e) {
      process.stdout.write(`err ${id} ${(e as { code?: string }).code}\n`);
    }
  }
};
await Promise.all(Array.from({ length: 200 }, (_, w) => worker(w)));
