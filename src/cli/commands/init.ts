// `agentpay init`: a data directory with its token keys, and an operator key written to the CLI's
// config file (0600). Idempotent: a second run keeps what is there.
import { Command } from "commander";
import { resolve } from "node:path";
import { configPath, readConfig, writeConfig } from "../config.ts";

export function initCommand(): Command {
  return new Command("init")
    .description("prepare a data directory and an operator key (idempotent)")
    .option("--data <dir>", "data directory", "./agentpay-data")
    .option("--url <url>", "the URL `serve` will listen on", "http://127.0.0.1:8787")
    .action(async (opts: { data: string; url: string }, cmd: Command) => {
      const json = (cmd.optsWithGlobals() as { json?: boolean }).json === true;
      const dir = resolve(opts.data);
      const path = configPath();
      const prior = readConfig(path);
      const { AgentPay } = await import("../../index.ts");
      const pay = await AgentPay.open({ dir, background: false, delivery: false });
      let created = false;
      try {
        // Keep a key the config already holds if it still authenticates as this directory's operator.
        const ok = prior.data === dir && prior.key !== undefined && pay.apiKeys.authenticate(prior.key)?.kind === "operator";
        if (!ok) {
          const { secret } = await pay.apiKeys.create({ kind: "operator", name: "agentpay init" });
          writeConfig({ ...prior, data: dir, url: prior.url ?? opts.url, key: secret }, path);
          created = true;
        }
      } finally {
        await pay.close();
      }
      const out = { data: dir, config: path, operatorKeyCreated: created, jwksKeys: 1 };
      process.stdout.write(json ? `${JSON.stringify(out)}\n`
        : `${created ? "created" : "kept"} the operator key in ${path}\ndata directory: ${dir}\nnext: agentpay serve\n`);
    });
}
