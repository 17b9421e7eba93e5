// Runs as `prepare`: on `npm install` / `npm ci` in this repository only, never in a consumer's install
// of the packed package (npm does not run `prepare` for registry or tarball dependencies).
// npm running on Node < 22 silently skips EDR's native package (engines >= 22),
// and Hardhat later fails with HHE27. This script runs on the pinned Node 24:
// if EDR does not load, install once more so npm itself runs on Node 24.
import { createRequire } from "node:module";
import { execSync } from "node:child_process";

const require = createRequire(import.meta.url);
try {
  require("@nomicfoundation/edr");
} catch {
  if (process.env.AGENTPAY_POSTINSTALL_RETRY === "1") {
    console.error("postinstall: @nomicfoundation/edr still does not load");
    process.exit(1);
  }
  console.log("postinstall: EDR native package missing; reinstalling on Node", process.version);
  execSync("npm install --no-save --ignore-scripts", {
    stdio: "inherit",
    env: { ...process.env, AGENTPAY_POSTINSTALL_RETRY: "1" },
  });
}
