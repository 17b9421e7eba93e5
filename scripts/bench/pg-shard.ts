// One shard of bench:shards: an engine process leading its own PostgreSQL database, paying among
// the accounts the router gave it (a payment touches one shard). Prints "ready" once its accounts
// exist, starts on a line "go" on stdin, and prints one JSON line with what it did.
//
//   pg-shard.ts <url> <accountsFile> <callers> <seconds>
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { AgentPay, amount } from "../../src/index.ts";

const [url, accountsFile, callersArg, secondsArg] = process.argv.slice(2) as [string, string, string, string];
const ids = JSON.parse(readFileSync(accountsFile, "utf8")) as string[];
const callers = Number(callersArg);
const seconds = Number(secondsArg);

const pay = await AgentPay.open({ postgres: { url, schema: "shard" }, delivery: false, background: false });
for (let b = 0; b < ids.length; b += 5_000) {
  await pay.ledger.createAccounts(ids.slice(b, b + 5_000).map((id) => ({ id, currency: "USD" })));
}
process.stdout.write("ready\n");
// Closed once "go" arrives: an open stdin would keep this process alive after its last line.
const rl = createInterface({ input: process.stdin });
await new Promise<void>((resolve) => rl.on("line", (l) => l === "go" && resolve()));
rl.close();
process.stdin.destroy();

let done = 0;
let failures = 0;
let n = 0;
const one = amount(1n, "USD");
const deadline = performance.now() + seconds * 1000;
const started = performance.now();
await Promise.all(Array.from({ length: callers }, async (_, c) => {
  while (performance.now() < deadline) {
    const from = ids[(c * 7919 + n++) % ids.length]!;
    const to = ids[(c * 104729 + n * 31) % ids.length]!;
    if (from === to) continue;
    try {
      await pay.ledger.transfer({ debitAccountId: from, creditAccountId: to, amount: one });
      done++;
    } catch {
      failures++;
    }
  }
}));
const elapsedS = (performance.now() - started) / 1000;
const ok = pay.ledger.check().ok;
await pay.close();
process.stdout.write(`${JSON.stringify({ transfers: done, failures, per_s: Math.round(done / elapsedS), invariants: ok })}\n`);
