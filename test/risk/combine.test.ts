import { expect } from "chai";
import { RiskEngine, combineVerdicts } from "../../src/risk/index.ts";
import type { RiskDecision, RiskOutcome, RuleSet } from "../../src/risk/index.ts";
import { T0, intent, rec } from "./helpers.ts";

const decision = (outcome: RiskOutcome, hard?: boolean): RiskDecision =>
  ({ outcome, score: 0, reasons: [], ruleSetVersion: "t", ...(hard !== undefined ? { hard } : {}) });

/** Amounts drive the rules: > 100.00 scores 60, > 200.00 another 60 (a score decline), 999.00 a hard decline, 777.00 a hard review. */
const rules: RuleSet = {
  version: "combine-1", thresholds: { review: 60, decline: 120 },
  rules: [
    { id: "big", kind: "score", score: 60, code: "BIG", message: "big", when: { feature: "intent.amountMinor", op: ">", value: 10_000 } },
    { id: "bigger", kind: "score", score: 60, code: "BIGGER", message: "bigger", when: { feature: "intent.amountMinor", op: ">", value: 20_000 } },
    { id: "banned", kind: "decline", code: "BANNED", message: "banned", when: { feature: "intent.amountMinor", op: "==", value: 99_900 } },
    { id: "odd", kind: "review", code: "ODD", message: "odd", when: { feature: "intent.amountMinor", op: "==", value: 77_700 } },
  ],
};

describe("risk: the policy's verdict and the risk engine's decision, combined", () => {
  it("a policy decline or a hard risk decline declines; a score decline goes to the person when the policy asks them anyway", () => {
    const table: Array<[RiskOutcome, RiskDecision, RiskOutcome]> = [
      ["allow", decision("allow", false), "allow"],
      ["allow", decision("review", true), "review"],
      ["allow", decision("review", false), "review"],
      ["allow", decision("decline", false), "decline"],       // nobody would be asked: the engine's refusal stands
      ["allow", decision("decline", true), "decline"],
      ["review", decision("allow", false), "review"],
      ["review", decision("review", false), "review"],
      ["review", decision("decline", false), "review"],       // the person is asked anyway: they judge it, with the reasons
      ["review", decision("decline", true), "decline"],       // a hard rule (or the drain breaker) is not theirs to overrule
      ["review", decision("decline"), "decline"],             // a hook that does not say: treated as hard
      ["decline", decision("allow", false), "decline"],
      ["decline", decision("review", false), "decline"],
      ["decline", decision("decline", false), "decline"],
    ];
    for (const [policy, risk, want] of table) expect(combineVerdicts(policy, risk), `${policy} + ${risk.outcome}/${String(risk.hard)}`).to.equal(want);
  });

  it("the engine says whether a hard rule or the summed score made its outcome", () => {
    const e = new RiskEngine({ rules });
    const at = (amountMinor: bigint, n: number) => e.score(intent({ amountMinor, atMs: T0 + n * 60_000 }));
    expect(at(5_000n, 0)).to.include({ outcome: "allow", hard: false });
    expect(at(15_000n, 1)).to.include({ outcome: "review", hard: false });
    expect(at(25_000n, 2)).to.include({ outcome: "decline", hard: false });
    expect(at(99_900n, 3)).to.include({ outcome: "decline", hard: true });
    // a hard review whose score also reaches decline: the decline comes from the score, so it is not hard
    expect(at(77_700n, 4)).to.include({ outcome: "decline", hard: false });
    const odd = new RiskEngine({ rules: { ...rules, rules: rules.rules.filter((r) => r.id !== "bigger") } });
    expect(odd.score(intent({ amountMinor: 77_700n }))).to.include({ outcome: "review", hard: true });
  });

  it("a drain breaker that declines is hard; one that asks is a hard review", () => {
    for (const action of ["decline", "review"] as const) {
      const e = new RiskEngine({ rules, breaker: { action, ownerMinMinor: 10_000, ownerMultiplier: 1 } });
      rec(e, intent({ amountMinor: 9_000n, atMs: T0 }));
      const d = e.score(intent({ amountMinor: 5_000n, atMs: T0 + 60_000 }));
      expect(d.reasons.map((r) => r.code)).to.deep.equal(["OWNER_DRAIN_TRIP"]);
      expect(d).to.include({ outcome: action, hard: true });
    }
  });
});
