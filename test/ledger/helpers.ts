import { expect } from "chai";
import { AgentPay } from "../../src/index.ts";
import { AgentPayError, ManualClock } from "../../src/core/index.ts";
import { MemoryStore } from "../../src/engine/index.ts";

export async function openLedger(store = new MemoryStore(), clock = new ManualClock()) {
  const pay = await AgentPay.open({ store, clock });
  return { pay, ledger: pay.ledger, store, clock };
}

/** Awaits a promise that must reject with an AgentPayError of `code`. */
export async function rejectsWith(p: Promise<unknown>, code: string): Promise<AgentPayError> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${code}`).to.be.instanceOf(AgentPayError);
  expect((err as AgentPayError).code).to.equal(code);
  return err as AgentPayError;
}
