// The `agentpay` command. Exit codes: 0 ok, 1 refused by agentpay (its code is printed), 2 usage.
import { Command, CommanderError } from "commander";
import { isAgentPayError } from "../index.ts";
import { initCommand } from "./commands/init.ts";
import { UsageError, serveCommand } from "./commands/serve.ts";

export function program(): Command {
  const p = new Command("agentpay")
    .description("Let AI agents pay safely: wallets, budgets, approvals, single-use tokens.")
    .option("--debug", "print stack traces")
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(s) });
  p.addCommand(initCommand());
  p.addCommand(serveCommand());
  for (const c of p.commands) c.exitOverride();
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
      process.stderr.write(`agentpay: ${e.code}: ${e.message}\n`);
      return 1;
    }
    process.stderr.write(`agentpay: ${e instanceof Error ? e.message : String(e)}\n`);
    if (p.opts().debug && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
}

