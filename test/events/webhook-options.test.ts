import { expect } from "chai";
import { AgentPayError } from "../../src/core/index.ts";
import { signWebhook, verifyWebhookSignature } from "../../src/events/index.ts";

const SECRET = "whsec_receiver_side_secret_123";
const BODY = JSON.stringify({ id: "evt_1", type: "payment.captured" });

function outcome(fn: () => void): string {
  try {
    fn();
    return "accepted";
  } catch (e) {
    if (!(e instanceof AgentPayError)) return `${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`;
    return e.code;
  }
}

/** Every option and argument of verifyWebhookSignature is checked: none can switch the replay check off. */
describe("events: verifyWebhookSignature validates what it is given", () => {
  // A request signed in 1970, replayed now: only a broken clock option could let it through.
  const old = signWebhook(SECRET, 0, BODY);

  it("a nowMs that is not a time (NaN, a string, Infinity, negative, null, a bigint) is INVALID_INPUT, never an accepted 1970 timestamp", () => {
    for (const nowMs of [NaN, "1767225600000", Infinity, -Infinity, -1, null, 10n, {}, [], true, 8.64e15 + 1]) {
      expect(outcome(() => verifyWebhookSignature(SECRET, 0, BODY, old, { nowMs } as never)), `nowMs ${String(nowMs)}`).to.equal("INVALID_INPUT");
    }
  });

  it("a toleranceMs that is not a sane duration (NaN, a string, Infinity, negative, over a day) is INVALID_INPUT", () => {
    for (const toleranceMs of [NaN, "300000", Infinity, -1, null, 86_400_001, 1e300, 5n]) {
      expect(outcome(() => verifyWebhookSignature(SECRET, 0, BODY, old, { toleranceMs, nowMs: 1_000 } as never)), `toleranceMs ${String(toleranceMs)}`).to.equal("INVALID_INPUT");
    }
  });

  it("options that are not an object, or carry an unknown member (a typo such as nowMS), are INVALID_INPUT", () => {
    for (const options of [null, "x", 42, [], { nowMS: 0 }, { tolerance: 10 }]) {
      expect(outcome(() => verifyWebhookSignature(SECRET, 0, BODY, old, options as never)), JSON.stringify(options)).to.equal("INVALID_INPUT");
    }
  });

  it("a secret of the wrong type is INVALID_INPUT (never a TypeError from the HMAC)", () => {
    for (const secret of [42, null, undefined, {}, [42], ["ok", 7], ""]) {
      expect(outcome(() => verifyWebhookSignature(secret as never, Date.now(), BODY, old)), JSON.stringify(secret)).to.equal("INVALID_INPUT");
    }
  });

  it("still accepts what it should: a fresh request, a fractional clock reading, the default options", () => {
    const now = Date.now();
    const header = signWebhook(SECRET, now, BODY);
    expect(outcome(() => verifyWebhookSignature(SECRET, now, BODY, header))).to.equal("accepted");
    expect(outcome(() => verifyWebhookSignature(SECRET, now, BODY, header, { nowMs: now + 0.5, toleranceMs: 1_000 }))).to.equal("accepted");
    expect(outcome(() => verifyWebhookSignature(SECRET, now, BODY, header, {}))).to.equal("accepted");
    expect(outcome(() => verifyWebhookSignature(SECRET, 0, BODY, old, { nowMs: 1_000 }))).to.equal("accepted");
  });
});
