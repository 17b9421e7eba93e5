// The console's stylesheet: plain CSS, no framework. Colours meet WCAG AA contrast (4.5:1 for text);
// focus is always visible; one column on a phone, a grid on a desktop.
export const CONSOLE_CSS = `
:root {
  --fg: #1b1b1f; --muted: #4a4a55; --bg: #f6f7f9; --card: #ffffff; --line: #c9ccd3;
  --accent: #0b57d0; --accent-fg: #ffffff; --ok: #0a6b2d; --ok-bg: #e3f4e8; --bad: #b3261e; --bad-bg: #fdeceb;
  --warn-fg: #5c4400; --warn-bg: #fff4ce; --focus: #ff9e1b;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
  color: var(--fg); background: var(--bg); line-height: 1.45;
}
* { box-sizing: border-box; }
body { margin: 0; font-size: 1rem; }
a { color: var(--accent); }
a:hover { text-decoration-thickness: 2px; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 0.875em; overflow-wrap: anywhere; }
.skip { position: absolute; left: -999px; top: 0; background: var(--card); padding: .5rem 1rem; z-index: 10; }
.skip:focus { left: .5rem; }
header.top { background: #14213d; color: #fff; padding: .5rem 1rem; display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: center; }
header.top .brand { font-weight: 700; margin: 0; font-size: 1.1rem; }
header.top a { color: #fff; }
nav.main ul { list-style: none; display: flex; flex-wrap: wrap; gap: .25rem .75rem; margin: 0; padding: 0; }
nav.main a { display: inline-block; padding: .4rem .5rem; text-decoration: none; border-radius: 4px; }
nav.main a[aria-current="page"] { background: #fff; color: #14213d; font-weight: 600; }
nav.main a:hover { text-decoration: underline; }
.count { display: inline-block; min-width: 1.5em; padding: 0 .35em; margin-left: .25em; border-radius: 1em; background: var(--bad); color: #fff; font-size: .8rem; text-align: center; }
.count:empty { display: none; }
.visually-hidden { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
.who { margin-left: auto; display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; font-size: .9rem; }
.who button { background: transparent; color: #fff; border: 1px solid #fff; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
main:focus { outline: none; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.2rem; margin: 0 0 .5rem; }
h3 { font-size: 1rem; margin: 1rem 0 .4rem; }
ol.plain > li.card { margin-bottom: .75rem; }
.grid { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fill, minmax(min(100%, 22rem), 1fr)); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1rem; }
.card.frozen { border-color: var(--bad); border-width: 2px; }
.empty { color: var(--muted); font-style: italic; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem .75rem; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.amount { font-size: 1.35rem; font-weight: 700; }
ul.reasons { margin: .25rem 0 .75rem; padding-left: 1.2rem; }
ul.plain { list-style: none; padding: 0; margin: 0; }
label { display: block; font-weight: 600; margin: .5rem 0 .25rem; }
input[type="text"], input[type="password"], input[type="search"], select, textarea {
  width: 100%; max-width: 32rem; font: inherit; padding: .5rem; border: 1px solid #767680; border-radius: 4px; background: #fff; color: var(--fg);
}
button, .button {
  font: inherit; font-weight: 600; padding: .55rem 1rem; border-radius: 4px; border: 1px solid transparent; cursor: pointer;
  background: var(--accent); color: var(--accent-fg); min-height: 44px; min-width: 44px;
}
button[disabled] { opacity: .6; cursor: progress; }
button.approve { background: var(--ok); }
button.deny, button.danger { background: var(--bad); }
a.button { display: inline-flex; align-items: center; text-decoration: none; }
button.secondary, .button.secondary { background: #fff; color: var(--accent); border-color: var(--accent); }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; margin-top: .75rem; }
.notice { padding: .75rem 1rem; border-radius: 6px; margin: 0 0 1rem; border: 1px solid; }
.notice.ok { background: var(--ok-bg); color: var(--ok); border-color: var(--ok); }
.notice.bad { background: var(--bad-bg); color: var(--bad); border-color: var(--bad); }
.notice.warn { background: var(--warn-bg); color: var(--warn-fg); border-color: #8a6d00; }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: 1rem; font-size: .8rem; font-weight: 600; border: 1px solid; vertical-align: middle; }
.badge.active, .badge.captured, .badge.authorized { color: var(--ok); background: var(--ok-bg); }
.badge.frozen, .badge.declined, .badge.denied, .badge.revoked, .badge.disabled, .badge.closed { color: var(--bad); background: var(--bad-bg); }
.badge.pending_approval, .badge.expired, .badge.voided, .badge.refunded { color: var(--warn-fg); background: var(--warn-bg); }
.budget { margin: .4rem 0; }
.budget .label { display: flex; justify-content: space-between; gap: .5rem; flex-wrap: wrap; font-size: .9rem; }
meter { width: 100%; height: 1rem; display: block; }
.table-wrap { overflow-x: auto; border: 1px solid var(--line); border-radius: 8px; background: var(--card); }
table { border-collapse: collapse; width: 100%; min-width: 40rem; }
caption { text-align: left; padding: .5rem .75rem; font-weight: 600; }
th, td { text-align: left; padding: .5rem .75rem; border-top: 1px solid var(--line); vertical-align: top; }
th { background: #eef0f4; }
td.num, th.num { text-align: right; white-space: nowrap; }
form.filters { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: flex-end; margin-bottom: 1rem; }
form.filters > div { min-width: 12rem; flex: 1 1 12rem; }
form.inline { display: inline; }
ol.story { list-style: none; padding: 0; margin: 0; border-left: 3px solid var(--line); }
ol.story > li { position: relative; margin: 0 0 1rem 0; padding: 0 0 0 1.25rem; }
ol.story > li::before { content: ""; position: absolute; left: -9px; top: .35rem; width: 15px; height: 15px; border-radius: 50%; background: var(--accent); }
ol.story > li.muted::before { background: var(--line); }
details.kill { margin-top: .75rem; }
details.kill summary { cursor: pointer; font-weight: 600; color: var(--bad); min-height: 44px; display: flex; align-items: center; }
.signin { max-width: 28rem; margin: 3rem auto; }
.pager { margin-top: 1rem; }
@media (max-width: 40rem) {
  header.top { padding: .5rem; }
  .who { margin-left: 0; width: 100%; justify-content: space-between; }
  main { padding: .75rem; }
  dl.facts { grid-template-columns: 1fr; }
  dl.facts dt { margin-top: .35rem; }
  .actions button { flex: 1 1 8rem; }
}
`;
