// Where the CLI finds its server and key: flags, then the environment (AGENTPAY_URL, AGENTPAY_KEY),
// then the config file `agentpay init` writes (0600; AGENTPAY_CONFIG or ~/.agentpay/config.json).
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";

export interface CliConfig {
  url?: string;
  /** An API key (operator, person or merchant). Never printed. */
  key?: string;
  /** The data directory `init` prepared (what `serve` opens by default). */
  data?: string;
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.AGENTPAY_CONFIG ?? join(homedir(), ".agentpay", "config.json"));
}

export function readConfig(path: string = configPath()): CliConfig {
  if (!existsSync(path)) return {};
  try {
    const c = JSON.parse(readFileSync(path, "utf8")) as CliConfig;
    return c !== null && typeof c === "object" ? c : {};
  } catch {
    return {};
  }
}

export function writeConfig(config: CliConfig, path: string = configPath()): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
}
