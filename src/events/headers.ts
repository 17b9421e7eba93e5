import { AgentPayError } from "../core/index.ts";
import { HEADER_AGENT_ID, HEADER_GRANT_ID, HEADER_INITIATOR } from "./types.ts";

const ID_RE = /^[A-Za-z0-9._:~\-/]{1,128}$/;

/**
 * The headers a merchant callback carries for an agent-initiated payment:
 * `AgentPay-Initiator: agent`, `AgentPay-Agent-Id`, `AgentPay-Grant-Id`. Pass them as a
 * webhook destination's `headers`, and put the same ids in the event's `subject`
 * (headers are not covered by the signature; the body is).
 */
export function agentInitiatedHeaders(input: { agentId: string; grantId?: string }): Record<string, string> {
  const { agentId, grantId } = input ?? ({} as { agentId: string });
  if (typeof agentId !== "string" || !ID_RE.test(agentId)) {
    throw new AgentPayError("INVALID_INPUT", "agentId must be an id", { field: "agentId" });
  }
  if (grantId !== undefined && (typeof grantId !== "string" || !ID_RE.test(grantId))) {
    throw new AgentPayError("INVALID_INPUT", "grantId must be an id", { field: "grantId" });
  }
  return {
    [HEADER_INITIATOR]: "agent",
    [HEADER_AGENT_ID]: agentId,
    ...(grantId !== undefined ? { [HEADER_GRANT_ID]: grantId } : {}),
  };
}
