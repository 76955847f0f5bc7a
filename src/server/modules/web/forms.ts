/**
 * What the pages' forms share: the hidden CSRF field, small one-button
 * forms (with an optional confirmation the script asks in a dialog),
 * POST-redirect-GET with 303, and notices after a redirect. A notice is a
 * fixed code in the query (`?done=saved`), mapped to a fixed text here,
 * with at most a number beside it: never text the user typed, which a
 * crafted link could otherwise put in a page.
 */
import { type Html, html } from "./html";
import { PAGE_HEADERS } from "./layout";

export type Form = Record<string, unknown>;

export const hidden = (name: string, value: string | number) =>
  html`<input type="hidden" name="${name}" value="${value}">`;

export const csrfField = (csrf: string) => hidden("csrf", csrf);

/** A 303 to a page of this site, with the pages' security headers. */
export function redirect(location: string, headers: Record<string, string> = {}): Response {
  const { "content-type": _, ...security } = PAGE_HEADERS;
  return new Response(null, { status: 303, headers: { ...security, location, ...headers } });
}

/** Only local paths: never another origin, never `//host`. */
export function safeNext(next: unknown): string {
  return typeof next === "string" && /^\/(?!\/)[\x21-\x7e]*$/.test(next) && !next.includes("\\") ? next : "/";
}

/** A form field as a string (empty when missing or not a string), cut to `max` characters. */
export function field(form: Form, name: string, max = 1024): string {
  const value = form[name];
  return typeof value === "string" ? value.slice(0, max) : "";
}

export interface ButtonForm {
  action: string;
  csrf: string;
  label: string;
  fields?: Record<string, string | number>;
  /** The button's class: "secondary", "danger", "small", ... */
  className?: string;
  /** Asked in a dialog by the script before the form is sent (without the script, the page itself confirms). */
  confirm?: string;
  confirmAction?: string;
  disabled?: boolean;
  /** An accessible name when the label alone is ambiguous (a row's "Delete"). */
  ariaLabel?: string;
  testId?: string;
}

/** A form that is one button (a POST with hidden fields). */
export function buttonForm(b: ButtonForm): Html {
  return html`<form method="post" action="${b.action}"${b.confirm ? html` data-confirm="${b.confirm}"` : ""}${b.confirmAction ? html` data-confirm-action="${b.confirmAction}"` : ""}>${csrfField(b.csrf)}${Object.entries(b.fields ?? {}).map(([k, v]) => hidden(k, v))}<button type="submit"${b.className ? html` class="${b.className}"` : ""}${b.disabled ? html` disabled` : ""}${b.ariaLabel ? html` aria-label="${b.ariaLabel}"` : ""}${b.testId ? html` data-testid="${b.testId}"` : ""}>${b.label}</button></form>`;
}

/** The fixed texts of notices after a redirect, by code; `{n}` takes the number given with it. */
const NOTICES: Record<string, string> = {};

/** Pages register their notices once, at load (each code is a fixed sentence). */
export function notices(entries: Record<string, string>): void {
  for (const [code, text] of Object.entries(entries)) {
    if (NOTICES[code] !== undefined && NOTICES[code] !== text)
      throw new Error(`notice ${code} registered twice`);
    NOTICES[code] = text;
  }
}

/** The notice a redirect asked for (`?done=CODE&n=NUMBER`), if it is a known one. */
export function noticeOf(url: URL): Html | undefined {
  const code = url.searchParams.get("done");
  if (!code) return undefined;
  const text = NOTICES[code];
  if (text === undefined) return undefined;
  const n = url.searchParams.get("n");
  const number = n !== null && /^[0-9]{1,10}$/.test(n) ? n : "";
  return html`<p class="notice">${text.replace("{n}", number)}</p>`;
}

/** A location with a notice code (and a number) added to its query. */
export function withNotice(location: string, code: string, n?: number): string {
  const sep = location.includes("?") ? "&" : "?";
  return `${location}${sep}done=${encodeURIComponent(code)}${n === undefined ? "" : `&n=${n}`}`;
}

/**
 * A one-button form for what cannot be undone (revoke, rotate, remove). With
 * the script, its dialog asks first (data-confirm). Without it, the form's
 * `<noscript>` field (`ask=yes`, sent only when scripts do not run) makes the
 * handler answer confirmPage instead of acting, so the question is asked on
 * a page.
 */
export function confirmForm(b: ButtonForm & { confirm: string }): Html {
  return html`<form method="post" action="${b.action}" data-confirm="${b.confirm}"${b.confirmAction ? html` data-confirm-action="${b.confirmAction}"` : ""}>${csrfField(b.csrf)}${Object.entries(b.fields ?? {}).map(([k, v]) => hidden(k, v))}<noscript>${hidden("ask", "yes")}</noscript><button type="submit"${b.className ? html` class="${b.className}"` : ""}${b.disabled ? html` disabled` : ""}${b.ariaLabel ? html` aria-label="${b.ariaLabel}"` : ""}${b.testId ? html` data-testid="${b.testId}"` : ""}>${b.label}</button></form>`;
}

/** Whether a confirmForm came without the script: ask on a page first. */
export const asksFirst = (form: Form) => form.ask === "yes";

/** The question of a confirmForm on its own, for a browser without the script: the same form, to act, or back. */
export function confirmQuestion(b: ButtonForm & { confirm: string; back: string }): Html {
  return html`<div class="card"><p>${b.confirm}</p><div class="row"><form method="post" action="${b.action}">${csrfField(b.csrf)}${Object.entries(b.fields ?? {}).map(([k, v]) => hidden(k, v))}<button type="submit" class="${b.className ?? "danger"}"${b.testId ? html` data-testid="${b.testId}"` : ""}>${b.confirmAction ?? b.label}</button></form><a href="${b.back}">Cancel</a></div></div>`;
}

/**
 * A secret shown once (a new token, a one-time password) or on explicit
 * request (a DOTENV_KEY): in a block a person can select, with a copy button
 * that the script reveals (vault.js `data-copy`). Pages holding one are never
 * cached (Cache-Control: no-store, like every page).
 */
export function secretBlock(id: string, label: string, value: string, note: Html | string): Html {
  return html`<div class="card" data-testid="secret"><p><strong>${label}</strong></p><pre class="value" id="${id}">${value}</pre><button type="button" class="small secondary" data-copy="${id}" hidden>Copy</button><p class="hint">${note}</p></div>`;
}
