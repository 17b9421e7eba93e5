// Child process for the store-failure tests, run under a file-size limit (prlimit --fsize) so the
// disk itself refuses a write (EFBIG) at some point. Deposits until one fails, then reports what
// that failure said and what reads show afterwards, one JSON line each.
import { AgentPay, amount } from "../../src/index.ts";
import { scopedKey } from "../../src/core/index.ts";

const [dir, storage] = process.argv.slice(2) as [string, "log" | "level"];
const say = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
const outcome = (fn: () => unknown): unknown => {
  try {
    const v = fn();
    return v === undefined ? "absent" : "visible";
  } catch (e) {
    return { threw: (e as { code?: string }).code ?? String(e) };
  }
};

const pay = await AgentPay.open({ dir, storage, delivery: false, background: false });
const w = await pay.wallets.create({ ownerId: "alice", currency: "USD", timeZone: "UTC" });
say({ wallet: w.id });
for (let i = 0; i < 100_000; i++) {
  const key = `d${i}`;
  try {
    await pay.wallets.deposit(w.id, amount("1.00", "USD"), { idempotencyKey: key });
    say({ acked: key });
  } catch (e) {
    const err = e as { code?: string; message?: string; details?: Record<string, unknown> };
    say({ failed: key, code: err.code, message: err.message, details: err.details });
    say({
      afterFailure: {
        getTransfer: outcome(() => pay.ledger.getTransfer(scopedKey("dep", w.id, key))),
        balance: outcome(() => pay.wallets.balance(w.id)),
        wallet: outcome(() => pay.wallets.get(w.id)),
      },
    });
    const next = await pay.wallets.deposit(w.id, amount("1.00", "USD"), { idempotencyKey: "after" }).then(() => "accepted", (x: { code?: string; details?: unknown }) => ({ code: x.code, details: x.details }));
    say({ nextWrite: next });
    break;
  }
}
await pay.close().catch((e: unknown) => say({ closeError: String(e) }));
say({ done: true });
