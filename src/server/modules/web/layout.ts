/**
 * The frame of every page: a skip link, the header with the navigation and
 * sign-out (for a signed-in viewer), breadcrumbs, the notice area, `<main>`
 * with the page's one `<h1>`, and the first-party script. Every page is sent
 * with PAGE_HEADERS: a strict Content-Security-Policy (no inline script or
 * style, nothing from another origin), no framing, no referrer, no caching
 * (a page can hold a value that was asked for).
 */
import { ICON_URL, SCRIPT_URL, STYLE_URL } from "./assets";
import { type Html, html } from "./html";

export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export const PAGE_HEADERS: Record<string, string> = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy": CSP,
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
};

/** Who looks at the page: what the header shows, and the CSRF token of its sign-out form. */
export interface Viewer {
  email: string;
  role: "owner" | "admin" | "member";
  csrf: string;
}

/** An entry of the header's navigation; `admin` ones only for instance owners and admins. */
export interface NavItem {
  area: string;
  label: string;
  href: string;
  admin?: boolean;
  /** Where it goes: lower first (pages register in any order); Projects is 0. */
  rank?: number;
}

/** The header's navigation: only pages that exist are listed (pages/*.ts add theirs here). */
export const NAV: NavItem[] = [{ area: "projects", label: "Projects", href: "/" }];

export interface Crumb {
  label: string;
  href?: string;
}

export interface PageOptions {
  status?: number;
  viewer?: Viewer;
  /** Which navigation entry this page belongs to (marked as the current one). */
  area?: string;
  /** The way here, from the projects list; the last one is this page. */
  crumbs?: Crumb[];
  /** A notice shown above the heading (fixed text chosen by the page, never raw query text). */
  notice?: Html;
  headers?: Record<string, string>;
  /** Reload the page after this many seconds (a page waiting for a CLI; no script needed). */
  refreshSeconds?: number;
  /** Wide pages (tables of keys) use the whole screen up to 1440 px. */
  wide?: boolean;
}

function header(viewer: Viewer | undefined, area: string | undefined): Html {
  if (!viewer)
    return html`<header class="top"><nav aria-label="Main"><a class="brand" href="/">vault</a></nav></header>`;
  const admin = viewer.role === "owner" || viewer.role === "admin";
  const items = NAV.filter((item) => !item.admin || admin)
    .sort((a, b) => (a.rank ?? 0) - (b.rank ?? 0))
    .map(
      (item) =>
        html`<li><a href="${item.href}"${item.area === area ? html` aria-current="page"` : ""}>${item.label}</a></li>`,
    );
  return html`<header class="top"><nav aria-label="Main"><a class="brand" href="/">vault</a><ul>${items}</ul><span class="who">${viewer.email}</span><form class="signout" method="post" action="/signout"><input type="hidden" name="csrf" value="${viewer.csrf}"><button class="link" type="submit">Sign out</button></form></nav></header>`;
}

function breadcrumbs(crumbs: Crumb[] | undefined): Html {
  if (!crumbs || crumbs.length === 0) return html``;
  const last = crumbs.length - 1;
  return html`<nav class="crumbs" aria-label="Breadcrumb"><ol>${crumbs.map((c, i) =>
    i === last || !c.href
      ? html`<li${i === last ? html` aria-current="page"` : ""}>${c.label}</li>`
      : html`<li><a href="${c.href}">${c.label}</a></li>`,
  )}</ol></nav>`;
}

export function page(title: string, body: Html, options: PageOptions = {}): Response {
  const doc = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${options.refreshSeconds ? html`<meta http-equiv="refresh" content="${options.refreshSeconds}">\n` : ""}<title>${title} · vault</title>
<link rel="stylesheet" href="${STYLE_URL}">
<link rel="icon" href="${ICON_URL}" type="image/svg+xml">
<script src="${SCRIPT_URL}" defer></script>
${options.viewer ? html`<meta name="csrf" content="${options.viewer.csrf}">\n` : ""}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
${header(options.viewer, options.area)}
${breadcrumbs(options.crumbs)}
<main id="main" tabindex="-1"${options.wide ? html` class="wide"` : ""}>
<div class="notices" id="notices" role="status" aria-live="polite">${options.notice ?? ""}</div>
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
