/**
 * The web app's two assets, embedded in the binary as text and served from
 * its own origin (the CSP allows scripts and styles from 'self' only): no
 * third-party asset, no build step. Public and cacheable: they hold no
 * secret, and their URLs carry a digest of their content, so a new release
 * is never hidden behind an old copy.
 */
import { Elysia } from "elysia";
import style from "./assets/vault.css" with { type: "text" };
import script from "./assets/vault.js" with { type: "text" };

const digest = (text: string) => new Bun.CryptoHasher("sha256").update(text).digest("hex").slice(0, 12);

export const ASSETS = {
  css: { text: style, type: "text/css; charset=utf-8", version: digest(style) },
  js: { text: script, type: "text/javascript; charset=utf-8", version: digest(script) },
} as const;

/** The URLs pages link to: the digest makes each release's copy a new URL. */
export const STYLE_URL = `/assets/vault.css?v=${ASSETS.css.version}`;
export const SCRIPT_URL = `/assets/vault.js?v=${ASSETS.js.version}`;

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
    .get("/assets/vault.js", serve(ASSETS.js));
}
