import { createHmac } from "node:crypto";
import { expect } from "chai";
import { AgentPayError } from "../../src/core/index.ts";
import { agentInitiatedHeaders, signWebhook, verifyWebhookSignature } from "../../src/events/index.ts";

const SECRET = "whsec_receiver_side_secret_123";
const NOW = 1_767_225_600_000;
const BODY = JSON.stringify({ id: "evt_1", type: "payment.captured", data: { amountMinor: "11850" } });

function code(fn: () => void): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(AgentPayError);
    expect((e as Error).message + JSON.stringify((e as AgentPayError).toJSON())).not.to.include(SECRET);
    return (e as AgentPayError).code;
  }
  return undefined;
}

describe("events: webhook signatures", () => {
  const header = signWebhook(SECRET, NOW, BODY);

  it("is HMAC-SHA256 over `${timestamp}.${body}`, checkable by any HMAC implementation", () => {
    const expected = createHmac("sha256", SECRET).update(`${NOW}.${BODY}`).digest("hex");
    expect(header).to.equal(`v1=${expected}`);
    expect(code(() => verifyWebhookSignature(SECRET, String(NOW), BODY, header, { nowMs: NOW }))).to.equal(undefined);
    expect(code(() => verifyWebhookSignature(SECRET, NOW, Buffer.from(BODY), header, { nowMs: NOW + 1_000 }))).to.equal(undefined);
  });

  const rejections: Array<[string, () => void, string]> = [
    ["a tampered body", () => verifyWebhookSignature(SECRET, NOW, BODY.replace("11850", "91850"), header, { nowMs: NOW }), "WEBHOOK_SIGNATURE_INVALID"],
    ["a tampered timestamp", () => verifyWebhookSignature(SECRET, NOW + 1, BODY, header, { nowMs: NOW }), "WEBHOOK_SIGNATURE_INVALID"],
    ["a tampered signature", () => verifyWebhookSignature(SECRET, NOW, BODY, header.slice(0, -1) + (header.endsWith("0") ? "1" : "0"), { nowMs: NOW }), "WEBHOOK_SIGNATURE_INVALID"],
    ["the wrong secret", () => verifyWebhookSignature("whsec_someone_else_entirely", NOW, BODY, header, { nowMs: NOW }), "WEBHOOK_SIGNATURE_INVALID"],
    ["an unknown scheme", () => verifyWebhookSignature(SECRET, NOW, BODY, header.replace("v1=", "v0="), { nowMs: NOW }), "WEBHOOK_SIGNATURE_INVALID"],
    ["a missing signature", () => verifyWebhookSignature(SECRET, NOW, BODY, undefined, { nowMs: NOW }), "WEBHOOK_SIGNATURE_INVALID"],
    ["a garbage signature", () => verifyWebhookSignature(SECRET, NOW, BODY, "v1=zz", { nowMs: NOW }), "WEBHOOK_SIGNATURE_INVALID"],
    ["a stale timestamp", () => verifyWebhookSignature(SECRET, NOW, BODY, header, { nowMs: NOW + 300_001 }), "WEBHOOK_TIMESTAMP_INVALID"],
    ["a timestamp from the future", () => verifyWebhookSignature(SECRET, NOW, BODY, header, { nowMs: NOW - 300_001 }), "WEBHOOK_TIMESTAMP_INVALID"],
    ["a stale timestamp under a tight tolerance", () => verifyWebhookSignature(SECRET, NOW, BODY, header, { nowMs: NOW + 11, toleranceMs: 10 }), "WEBHOOK_TIMESTAMP_INVALID"],
    ["a malformed timestamp", () => verifyWebhookSignature(SECRET, "1e12", BODY, header, { nowMs: NOW }), "WEBHOOK_TIMESTAMP_INVALID"],
    ["a missing timestamp", () => verifyWebhookSignature(SECRET, undefined, BODY, header, { nowMs: NOW }), "WEBHOOK_TIMESTAMP_INVALID"],
    ["an empty secret", () => verifyWebhookSignature("", NOW, BODY, header, { nowMs: NOW }), "INVALID_INPUT"],
    ["a negative tolerance", () => verifyWebhookSignature(SECRET, NOW, BODY, header, { nowMs: NOW, toleranceMs: -1 }), "INVALID_INPUT"],
  ];
  for (const [name, fn, expected] of rejections) {
    it(`rejects ${name} (${expected})`, () => {
      expect(code(fn)).to.equal(expected);
    });
  }

  it("supports secret rotation: several signatures, several secrets", () => {
    const next = "whsec_the_next_secret_000000";
    const both = signWebhook([SECRET, next], NOW, BODY);
    expect(both.split(",")).to.have.length(2);
    expect(code(() => verifyWebhookSignature(SECRET, NOW, BODY, both, { nowMs: NOW }))).to.equal(undefined);
    expect(code(() => verifyWebhookSignature(next, NOW, BODY, both, { nowMs: NOW }))).to.equal(undefined);
    expect(code(() => verifyWebhookSignature([next, SECRET], NOW, BODY, header, { nowMs: NOW }))).to.equal(undefined);
    expect(code(() => verifyWebhookSignature(["whsec_unrelated_secret_xyz"], NOW, BODY, both, { nowMs: NOW }))).to.equal("WEBHOOK_SIGNATURE_INVALID");
  });

  it("agentInitiatedHeaders names the initiator, agent and grant", () => {
    expect(agentInitiatedHeaders({ agentId: "agt_1", grantId: "gra_1" })).to.deep.equal({
      "AgentPay-Initiator": "agent", "AgentPay-Agent-Id": "agt_1", "AgentPay-Grant-Id": "gra_1",
    });
    expect(agentInitiatedHeaders({ agentId: "agt_1" })).to.deep.equal({ "AgentPay-Initiator": "agent", "AgentPay-Agent-Id": "agt_1" });
    expect(() => agentInitiatedHeaders({ agentId: "a\r\nX-Evil: 1" })).to.throw(AgentPayError);
  });
});
