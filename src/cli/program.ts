// The `agentpay` command. Exit codes: 0 ok, 1 refused by agentpay (its code is printed), 2 usage.
import { Command, CommanderError } from "commander";
import { isAgentPayError } from "../index.ts";
import { agentCommand, merchantCommand, payCommand, refundCommand } from "./commands/agent.ts";
import { chainCommand } from "./commands/chain.ts";
import { demoCommand } from "./commands/demo.ts";
import { initCommand } from "./commands/init.ts";
import { mcpCommand } from "./commands/mcp.ts";
import { approvalsCommand, grantCommand, keyCommand, paymentsCommand, statementCommand, subwalletCommand, walletCommand } from "./commands/person.ts";
import { serveCommand } from "./commands/serve.ts";
import { UsageError } from "./context.ts";
import { formatError } from "./output.ts";

export function program(): Command {
  const p = new Command("agentpay")
    .description("Let AI agents pay safely: wallets, budgets, approvals, single-use tokens.")
    .option("--url <url>", "the agentpay server (default AGENTPAY_URL, the config file, http://127.0.0.1:8787)")
    .option("--key <apiKey>", "an API key (default AGENTPAY_KEY, the config file)")
    .option("--json", "JSON output for scripts")
    .option("--debug", "print stack traces")
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(s) });
  for (const c of [
    initCommand(), serveCommand(), walletCommand(), subwalletCommand(), agentCommand(), grantCommand(), merchantCommand(), approvalsCommand(),
    paymentsCommand(), statementCommand(), payCommand(), refundCommand(), keyCommand(), chainCommand(), mcpCommand(), demoCommand(),
  ]) p.addCommand(c);
  const strict = (c: Command): void => {
    c.exitOverride();
    c.configureOutput({ outputError: (s, write) => write(s) });
    for (const sub of c.commands) strict(sub);
  };
  for (const c of p.commands) strict(c);
  return p;
}

export async function main(argv: string[]): Promise<number> {
  const p = program();
  try {
    await p.parseAsync(argv, { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof UsageError) {
      process.stderr.write(`agentpay: ${e.message}\n`);
      return 2;
    }
    if (isAgentPayError(e)) {
      if (p.opts().json) process.stderr.write(`${JSON.stringify({ error: { code: e.code, message: e.message, details: e.details } }, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}\n`);
      else process.stderr.write(`${formatError(e)}\n`);
      if (p.opts().debug) process.stderr.write(`${e.stack}\n`);
      return 1;
    }
    process.stderr.write(`agentpay: ${e instanceof Error ? e.message : String(e)}\n`);
    if (p.opts().debug && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
}

