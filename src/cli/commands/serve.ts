// `agentpay serve`: the HTTP API on a data directory, in memory or on PostgreSQL, until SIGTERM/SIGINT.
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { readConfig } from "../config.ts";
import { UsageError } from "../context.ts";

export function serveCommand(): Command {
  return new Command("serve")
    .description("run the HTTP API (prints `agentpay listening on http://HOST:PORT`)")
    .option("--data <dir>", "data directory (default: the one `agentpay init` prepared)")
    .option("--memory", "keep everything in memory (tests, demos)")
    .option("--postgres <url>", "keep the ledger in PostgreSQL (or AGENTPAY_POSTGRES_URL); several servers on one database: one leads, the others stand by")
    .option("--pg-schema <name>", "the schema holding this ledger on PostgreSQL (one ledger, one leader per schema)", "agentpay")
    .option("--host <host>", "interface to listen on", "127.0.0.1")
    .option("--port <port>", "port (0: any free one)", "8787")
    .option("--chain", "load the chain bridge (on-chain merchants)")
    .option("--risk <rules>", "the risk engine: default, off, or a rule-set JSON file", "default")
    .option("--allow-private-webhooks", "let webhooks reach private and loopback addresses (development only)")
    .option("--log", "structured JSON logs of every request on stdout")
    .action(async (opts: { data?: string; memory?: boolean; postgres?: string; pgSchema: string; host: string; port: string; chain?: boolean; risk: string; allowPrivateWebhooks?: boolean; log?: boolean }) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError("--port must be 0-65535");
      const postgres = opts.postgres ?? (opts.data || opts.memory ? undefined : process.env.AGENTPAY_POSTGRES_URL || undefined);
      if ([opts.memory, opts.data, opts.postgres].filter(Boolean).length > 1) throw new UsageError("give one of --data, --memory or --postgres");
      if (postgres !== undefined && !/^postgres(ql)?:\/\//.test(postgres)) throw new UsageError("--postgres takes a URL: postgres://user:password@host/database");
      const data = postgres !== undefined ? undefined : opts.data ?? readConfig().data;
      if (!opts.memory && !data && postgres === undefined) throw new UsageError("give --data <dir> (or run `agentpay init`), --memory or --postgres <url>");
      let risk: "off" | { rules: unknown } | undefined;
      if (opts.risk === "off") risk = "off";
      else if (opts.risk !== "default") {
        try {
          risk = { rules: JSON.parse(readFileSync(opts.risk, "utf8")) as unknown };
        } catch {
          throw new UsageError(`--risk: cannot read a rule set from ${opts.risk}`);
        }
      }
      // Loaded here, not at startup: every other command starts without the server framework.
      const [{ AgentPay }, { serve }, { default: pino }] = await Promise.all([import("../../index.ts"), import("../../http/index.ts"), import("pino")]);
      const pay = await AgentPay.open({
        ...(risk !== undefined ? { risk } : {}),
        ...(opts.memory ? { memory: true } : postgres !== undefined ? { postgres: { url: postgres, schema: opts.pgSchema } } : { dir: data! }),
        ...(opts.chain ? { chain: true } : {}),
        ...(opts.allowPrivateWebhooks ? { delivery: { allowPrivateNetworks: true } } : {}),
      });
      const operatorKeys = process.env.AGENTPAY_OPERATOR_KEY ? [process.env.AGENTPAY_OPERATOR_KEY] : [];
      const running = await serve(pay, {
        host: opts.host, port, operatorKeys, ...(opts.log ? { logger: pino({ redact: ["req.headers.authorization"] }) } : {}),
      });
      // stdout carries exactly one line, the one scripts wait for; the rest is for the person at the terminal
      process.stdout.write(`agentpay listening on ${running.url}\n`);
      process.stderr.write(`agentpay console on ${running.url}/console\n`);
      if (postgres !== undefined) {
        // Which node takes writes is decided by the lease; /readyz says the same to a load balancer.
        process.stderr.write(`agentpay: on PostgreSQL as ${pay.role}\n`);
        pay.onRoleChange((role) => process.stderr.write(`agentpay: now ${role}\n`));
      }
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        process.stderr.write(`agentpay: ${signal}: draining and closing\n`);
        running.close().then(() => process.exit(0), (e: unknown) => {
          process.stderr.write(`agentpay: close failed: ${String(e)}\n`);
          process.exit(1);
        });
      };
      process.once("SIGTERM", () => stop("SIGTERM"));
      process.once("SIGINT", () => stop("SIGINT"));
    });
}


