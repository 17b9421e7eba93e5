// The console's static assets, all served by this server (no CDN: many deployments are offline):
// htmx from the npm package htmx.org, and the console's own CSS and script. Each URL carries a hash
// of its content, so browsers may cache it for good.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { CONSOLE_CSS } from "./style.ts";
import { CONSOLE_JS } from "./script.ts";

export interface Asset {
  readonly body: string;
  readonly type: string;
  readonly etag: string;
}

export interface Assets {
  /** file name → asset */
  readonly files: ReadonlyMap<string, Asset>;
  /** file name → its URL under the console's path (with the content hash) */
  url(name: "htmx.min.js" | "console.js" | "console.css"): string;
}

function asset(body: string, type: string): Asset {
  return { body, type, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 16)}"` };
}

let htmxSource: string | undefined;

/** htmx's minified build, read once from the installed htmx.org package. */
function htmx(): string {
  if (htmxSource === undefined) {
    const require = createRequire(import.meta.url);
    htmxSource = readFileSync(require.resolve("htmx.org/dist/htmx.min.js"), "utf8");
  }
  return htmxSource;
}

export function loadAssets(base: string): Assets {
  const files = new Map<string, Asset>([
    ["htmx.min.js", asset(htmx(), "text/javascript; charset=utf-8")],
    ["console.js", asset(CONSOLE_JS, "text/javascript; charset=utf-8")],
    ["console.css", asset(CONSOLE_CSS, "text/css; charset=utf-8")],
  ]);
  return {
    files,
    url: (name) => `${base}/assets/${name}?v=${files.get(name)!.etag.slice(1, -1)}`,
  };
}
