/**
 * Server-rendered pages: small, readable, no JavaScript, no third-party
 * assets. Every piece of text that came from outside goes through `esc`.
 */
export function esc(text: unknown): string {
  return String(text)
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** A trusted fragment of HTML (built only from literals and `esc`). */
export class Html {
  constructor(readonly text: string) {}
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] ?? "";
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? "");
  });
  return new Html(out);
}

function render(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join("");
  if (value === null || value === undefined || value === false) return "";
  return esc(value);
}

export const CSP =
  "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export const PAGE_HEADERS: Record<string, string> = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy": CSP,
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
};

export function page(
  title: string,
  body: Html,
  options: {
    status?: number;
    user?: string | null;
    headers?: Record<string, string>;
    /** Reload the page after this many seconds (a page waiting for a CLI; no script needed). */
    refreshSeconds?: number;
  } = {},
): Response {
  const doc = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${
  options.refreshSeconds
    ? html`<meta http-equiv="refresh" content="${options.refreshSeconds}">
`
    : ""
}
<title>${title} · vault</title>
<link rel="stylesheet" href="/assets/vault.css">
</head>
<body>
<header><a class="brand" href="/">vault</a>${options.user ? html`<span class="who">${options.user}</span>` : ""}</header>
<main>
<h1>${title}</h1>
${body}
</main>
</body>
</html>
`;
  return new Response(doc.text, {
    status: options.status ?? 200,
    headers: { ...PAGE_HEADERS, ...options.headers },
  });
}

export const STYLE = `
:root { color-scheme: light dark; --fg: #1d2330; --muted: #5b6474; --bg: #f7f8fa; --card: #fff; --line: #dfe3ea; --accent: #2456d6; --danger: #b42318; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e9ef; --muted: #9aa3b2; --bg: #12151b; --card: #1b1f27; --line: #2c323d; --accent: #7aa2ff; --danger: #ff7a6b; } }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; justify-content: space-between; align-items: center; padding: 0.75rem 1.5rem; border-bottom: 1px solid var(--line); background: var(--card); }
.brand { font-weight: 700; letter-spacing: 0.02em; color: var(--fg); text-decoration: none; }
.who { color: var(--muted); font-size: 0.9rem; }
main { max-width: 46rem; margin: 2rem auto; padding: 0 1.5rem; }
h1 { font-size: 1.5rem; margin: 0 0 1rem; }
h2 { font-size: 1.1rem; margin: 2rem 0 0.5rem; }
p { margin: 0.5rem 0 1rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 1.25rem 1.5rem; }
label { display: block; font-weight: 600; margin: 0.75rem 0 0.25rem; }
input[type=email], input[type=password], input[type=text] { width: 100%; padding: 0.55rem 0.7rem; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); font: inherit; }
button { margin-top: 1rem; padding: 0.55rem 1.1rem; border: 0; border-radius: 6px; background: var(--accent); color: #fff; font: inherit; font-weight: 600; cursor: pointer; }
button.secondary { background: transparent; color: var(--muted); border: 1px solid var(--line); }
.row { display: flex; gap: 0.75rem; align-items: center; }
.error { color: var(--danger); font-weight: 600; }
.warning { border: 2px solid var(--danger); border-radius: 8px; padding: 0.75rem 1rem; color: var(--fg); background: color-mix(in srgb, var(--danger) 10%, var(--card)); }
.origin { margin-bottom: 1rem; }
.origin h2 { margin-top: 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; margin: 0 0 0.75rem; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
label.check { display: flex; gap: 0.5rem; align-items: baseline; font-weight: 400; }
.muted { color: var(--muted); }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.9em; }
table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); border-radius: 10px; overflow: hidden; }
th, td { text-align: left; padding: 0.5rem 0.75rem; border-bottom: 1px solid var(--line); }
th { font-size: 0.85rem; color: var(--muted); font-weight: 600; }
tr:last-child td { border-bottom: 0; }
a { color: var(--accent); }
`;
