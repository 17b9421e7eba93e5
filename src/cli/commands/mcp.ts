// `agentpay mcp`: the MCP server on the agent's side, holding its key (never sent to the model or the server).
import { Command } from "commander";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { agentClient, ctxOf, readAgentKey, UsageError } from "../context.ts";

export function mcpCommand(): Command {
  return new Command("mcp").description("MCP server for LLM agents (stdio; or Streamable HTTP with --http)")
    .option("--agent-key <file>", "the agent's key file (agentpay agent register writes it)")
    .option("--as <role>", "agent (default) or merchant (uses --key and --merchant)", "agent").option("--merchant <id>", "with --as merchant")
    .option("--tools <list>", "expose only these tools, comma-separated").option("--http", "Streamable HTTP instead of stdio")
    .option("--host <host>", "with --http", "127.0.0.1").option("--port <port>", "with --http (0: any free one)", "8788")
    .option("--http-token <token>", "with --http: require Authorization: Bearer <token> (or AGENTPAY_MCP_TOKEN)")
    .option("--allow-private-resources", "let pay_for_resource reach loopback and private addresses (development only)")
    .action(async (o, cmd) => {
      const ctx = ctxOf(cmd);
      const { createMcpServer, createMerchantMcpServer, httpAgent, runStdio, serveMcpHttp } = await import("../../mcp/index.ts");
      const tools = o.tools ? String(o.tools).split(",").map((t) => t.trim()) : undefined;
      let make: () => McpServer;
      if (o.as === "merchant") {
        const merchant = ctx.merchant(o.merchant);
        make = () => createMerchantMcpServer(merchant, ctx.registry, tools ? { tools } : {});
      } else if (o.as === "agent") {
        if (!o.agentKey) throw new UsageError("--agent-key <file> is required (or --as merchant)");
        const side = httpAgent(agentClient(ctx, readAgentKey(o.agentKey)), ctx.registry);
        make = () => createMcpServer(side, { ...(tools ? { tools } : {}), payForResource: { allowPrivateNetworks: o.allowPrivateResources === true } });
        make(); // refuses unknown --tools now, before any transport starts
      } else throw new UsageError("--as is agent or merchant");
      if (!o.http) {
        await runStdio(make());
        return;
      }
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError("--port must be 0-65535");
      const token = o.httpToken ?? process.env.AGENTPAY_MCP_TOKEN;
      const running = await serveMcpHttp(make, { host: o.host, port, ...(token ? { token } : {}) });
      process.stdout.write(`agentpay mcp listening on ${running.url}\n`);
      const stop = () => void running.close().then(() => process.exit(0));
      process.once("SIGTERM", stop);
      process.once("SIGINT", stop);
    });
}
