// `agentpay serve`: the HTTP API on a data directory (or in memory), until SIGTERM/SIGINT.
import { Command } from "commander";
import pino from "pino";
import { AgentPay } from "../../index.ts";
import { serve } from "../../http/index.ts";
import { readConfig } from "../config.ts";

export function serveCommand(): Command {
  return new Command("serve")
    .description("run the HTTP API (prints `agentpay listening on http://HOST:PORT`)")
    .option("--data <dir>", "data directory (default: the one `agentpay init` prepared)")
    .option("--memory", "keep everything in memory (tests, demos)")
    .option("--host <host>", "interface to listen on", "127.0.0.1")
    .option("--port <port>", "port (0: any free one)", "8787")
    .option("--chain", "load the chain bridge (on-chain merchants)")
    .option("--allow-private-webhooks", "let webhooks reach private and loopback addresses (development only)")
    .option("--log", "structured JSON logs of every request on stdout")
    .action(async (opts: { data?: string; memory?: boolean; host: string; port: string; chain?: boolean; allowPrivateWebhooks?: boolean; log?: boolean }) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError("--port must be 0-65535");
      const data = opts.data ?? readConfig().data;
      if (opts.memory && opts.data) throw new UsageError("give --data or --memory, not both");
      if (!opts.memory && !data) throw new UsageError("give --data <dir> (or run `agentpay init`), or --memory");
      const pay = await AgentPay.open({
        ...(opts.memory ? { memory: true } : { dir: data! }),
        ...(opts.chain ? { chain: true } : {}),
        ...(opts.allowPrivateWebhooks ? { delivery: { allowPrivateNetworks: true } as never } : {}),
      });
      const operatorKeys = process.env.AGENTPAY_OPERATOR_KEY ? [process.env.AGENTPAY_OPERATOR_KEY] : [];
      const running = await serve(pay, {
        host: opts.host, port, operatorKeys, ...(opts.log ? { logger: pino({ redact: ["req.headers.authorization"] }) } : {}),
      });
      process.stdout.write(`agentpay listening on ${running.url}\nagentpay console on ${running.url}/console\n`);
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

export class UsageError extends Error {}
