// The browser side of the console's tests: Debian's chromium driven by playwright-core (never a
// browser download), sign-in, axe-core checks, screenshots, and agents run as processes of their own.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import type { Browser, BrowserContext, Page } from "playwright-core";
// Code in page.evaluate() runs in the page: its DOM globals, typed loosely here (no DOM lib in this project).
declare const window: any;
declare const document: any;

const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, "../..");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no chromium at ${CHROMIUM}: install Debian's (apt-get install -y chromium; .ci/run does) or set CHROMIUM_PATH`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

/** Problems a page reports that a test should fail on: script errors and CSP violations. */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    const t = m.text();
    // A refused request (401/403/404/409) is logged by chromium as a failed resource load: that is the test's business.
    if (m.type() === "error" && !/Failed to load resource: the server responded with a status of (40[13489]|422)/.test(t)) problems.push(`console: ${t}`);
  });
  return problems;
}

export async function signIn(page: Page, url: string, key: string): Promise<void> {
  await page.goto(`${url}/console`);
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/console\/approvals$/);
}

/** A signed-in tab whose live feed is connected (so nothing that happens next is missed). */
export async function openLive(context: BrowserContext, url: string, path = "/console/approvals"): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${url}${path}`);
  await page.waitForSelector('body[data-live-state="connected"]');
  return page;
}

const AXE = readFileSync(join(root, "node_modules/axe-core/axe.min.js"), "utf8");

/** axe-core on the page as it is: the serious and critical violations (there should be none). */
export async function axe(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    const w = window as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[] }> }> }> } };
    return w.axe.run(document, { resultTypes: ["violations"] });
  });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => JSON.stringify(n.target)).join(", ")}`);
}

export const SHOTS = join(root, "docs/screenshots");
export const WIDTHS = { desktop: { width: 1280, height: 900 }, phone: { width: 390, height: 844 } } as const;

/** Full-page screenshots at desktop and phone widths: docs/screenshots/<name>-<width>.png. */
export async function screenshots(page: Page, name: string): Promise<string[]> {
  mkdirSync(SHOTS, { recursive: true });
  const before = page.viewportSize();
  const paths: string[] = [];
  for (const [label, size] of Object.entries(WIDTHS)) {
    await page.setViewportSize(size);
    const path = join(SHOTS, `${name}-${label}.png`);
    await page.screenshot({ path, fullPage: true });
    paths.push(path);
  }
  if (before) await page.setViewportSize(before);
  return paths;
}

export interface AgentLine { step: string; http?: number; status?: string; paymentId?: string; approvalId?: string; token?: string; error?: { code: string; message?: string } }

/** An agent process: its "asked" and "final" lines as they come. */
export function runAgent(args: Record<string, unknown>): { next(): Promise<AgentLine>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [join(here, "agent-process.ts"), JSON.stringify(args)], { stdio: ["ignore", "pipe", "inherit"] });
  const lines: AgentLine[] = [];
  const waiting: Array<(l: AgentLine) => void> = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    const l = JSON.parse(line) as AgentLine;
    const w = waiting.shift();
    if (w) w(l);
    else lines.push(l);
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return {
    next: () => {
      const l = lines.shift();
      if (l) return Promise.resolve(l);
      return new Promise<AgentLine>((resolve, reject) => {
        waiting.push(resolve);
        void exited.then((code) => reject(new Error(`the agent process exited (${code}) before its next line`)));
      });
    },
    exited,
  };
}
