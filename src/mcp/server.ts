// The MCP server: the agent's payment tools over stdio or Streamable HTTP, holding the agent's key in
// this process (the key never reaches the model, nor the payment server).
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { AgentPayError } from "../index.ts";
import type { McpAgentSide } from "./agent.ts";
import { AGENT_TOOLS, errorResult } from "./tools.ts";
import { payForResourceTool } from "./pay-for-resource.ts";
import type { PayForResourceOptions } from "./pay-for-resource.ts";
import type { ToolDef, ToolResult } from "./tools.ts";

export interface McpServerOptions {
  /** Expose only these tools (default: all). */
  tools?: readonly string[];
  /** Extra tools of your own. */
  extraTools?: readonly ToolDef[];
  /** How pay_for_resource fetches (e.g. a fetch with a proxy). */
  payForResource?: PayForResourceOptions;
  name?: string;
  version?: string;
}

/** Result text is bounded: a model's context is not a log. */
const MAX_TEXT = 16_000;

export function createMcpServer(agent: McpAgentSide, opts: McpServerOptions = {}): McpServer {
  const all = [...AGENT_TOOLS, payForResourceTool(opts.payForResource), ...(opts.extraTools ?? [])];
  if (opts.tools) {
    const unknown = opts.tools.filter((t) => !all.some((d) => d.name === t));
    if (unknown.length > 0) throw new AgentPayError("INVALID_INPUT", `unknown tools: ${unknown.join(", ")}`, { field: "tools", known: all.map((d) => d.name) });
  }
  const server = new McpServer({ name: opts.name ?? "agentpay", version: opts.version ?? "0.2.0" }, {
    instructions: "Pay merchants on the user's behalf within the budgets and rules the user set. Check get_budget before paying; a payment above the user's threshold waits for their approval (wait_for_approval). For a URL that answers HTTP 402, use pay_for_resource with the most you will pay. Never invent amounts or merchants; tell the user when a payment is declined and why.",
  });
  for (const def of all) {
    if (opts.tools && !opts.tools.includes(def.name)) continue;
    server.registerTool(def.name, { title: def.title, description: def.description, inputSchema: def.input }, async (args: Record<string, unknown>): Promise<ToolResult> => {
      try {
        const out = await def.run(agent, args);
        const text = JSON.stringify(out);
        return { content: [{ type: "text", text: text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text }] };
      } catch (e) {
        return errorResult(e);
      }
    });
  }
  return server;
}
