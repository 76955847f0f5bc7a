/**
 * The web app's assets (a stylesheet, a script, an icon), embedded in the binary as text and served from
 * its own origin (the CSP allows scripts and styles from 'self' only): no
 * third-party asset, no build step. Public and cacheable: they hold no
 * secret, and their URLs carry a digest of their content, so a new release
 * is never hidden behind an old copy.
 */
import { Elysia } from "elysia";
import style from "./assets/vault.css" with { type: "text" };
import script from "./assets/vault.js" with { type: "text" };

const digest = (text: string) => new Bun.CryptoHasher("sha256").update(text).digest("hex").slice(0, 12);

/** The tab's icon (a keyhole), so that browsers do not ask for a /favicon.ico that is not there. */
const icon =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#2456d6"/><circle cx="16" cy="13" r="5" fill="#fff"/><path d="M13.5 16h5l1.5 9h-8z" fill="#fff"/></svg>';

export const ASSETS = {
  css: { text: style, type: "text/css; charset=utf-8", version: digest(style) },
  js: { text: script, type: "text/javascript; charset=utf-8", version: digest(script) },
  icon: { text: icon, type: "image/svg+xml", version: digest(icon) },
} as const;

/** The URLs pages link to: the digest makes each release's copy a new URL. */
export const STYLE_URL = `/assets/vault.css?v=${ASSETS.css.version}`;
export const SCRIPT_URL = `/assets/vault.js?v=${ASSETS.js.version}`;
export const ICON_URL = `/assets/vault.svg?v=${ASSETS.icon.version}`;

const serve = (asset: (typeof ASSETS)[keyof typeof ASSETS]) => () =>
  new Response(asset.text, {
    headers: {
      "content-type": asset.type,
      "cache-control": "public, max-age=86400",
      "x-content-type-options": "nosniff",
    },
  });

export function assetRoutes() {
  return new Elysia({ name: "web-assets" })
    .get("/assets/vault.css", serve(ASSETS.css))
    .get("/assets/vault.js", serve(ASSETS.js))
    .get("/assets/vault.svg", serve(ASSETS.icon));
}
