// src/console: the person's console, a web page on the HTTP server (approvals live, budgets,
// payments and their story, freeze and revoke, notifications). createApp mounts it under /console;
// createConsole(pay) gives the Hono app to mount elsewhere.
export { createConsole, CONSOLE_PATH } from "./app.ts";
export type { ConsoleApp, ConsoleOptions } from "./app.ts";
export { SessionStore } from "./sessions.ts";
export type { ConsolePrincipal, Session, SessionOptions } from "./sessions.ts";
