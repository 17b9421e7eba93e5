// src/mcp: agentpay as tools for LLM agents (the `agentpay/mcp` entry point): the agent's payment tools,
// the MCP server that holds the agent's key, and its stdio and Streamable HTTP transports.
export { createMcpServer } from "./server.ts";
export type { McpServerOptions } from "./server.ts";
export { AGENT_TOOLS, errorResult } from "./tools.ts";
export type { ToolDef, ToolResult } from "./tools.ts";
export type { McpAgentSide } from "./agent.ts";
export { inProcessAgent } from "./in-process.ts";
export { httpAgent } from "./http-agent.ts";
export { createMerchantMcpServer } from "./merchant-tools.ts";
export { runStdio, serveMcpHttp } from "./transports.ts";
export type { McpHttpOptions, RunningMcpHttp } from "./transports.ts";
export { payForResourceTool, MAX_BODY_CHARS } from "./pay-for-resource.ts";
export type { PayForResourceOptions } from "./pay-for-resource.ts";
