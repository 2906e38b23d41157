import { readFile } from 'node:fs/promises';

/** The placeholders in ui/index.html that the server replaces: the run's token, listen's webhook URL, its app. */
export const TOKEN_PLACEHOLDER = '__FACESIGN_TOKEN__';
export const WEBHOOK_URL_PLACEHOLDER = '__FACESIGN_WEBHOOK_URL__';
export const FORWARD_TO_PLACEHOLDER = '__FACESIGN_FORWARD_TO__';

/** The inspector page's files, as shipped in the package's `ui/` folder. */
export interface UiAssets {
  html: string;
  css: Buffer;
  js: Buffer;
}

/** The page's files ship in `ui/` at the package root, two levels above src/receiver, dist/receiver and dist/cli. */
const UI_DIR = new URL('../../ui/', import.meta.url);

let loaded: Promise<UiAssets> | undefined;

/**
 * Reads the page's three files once, on the first request for the page (never at start-up).
 * A failed read is not cached, so a package repaired meanwhile serves on the next request.
 */
export function loadUiAssets(): Promise<UiAssets> {
  loaded ??= readAssets().catch((err: unknown) => {
    loaded = undefined;
    throw err;
  });
  return loaded;
}

async function readAssets(): Promise<UiAssets> {
  const [html, css, js] = await Promise.all([
    readFile(new URL('index.html', UI_DIR), 'utf8'),
    readFile(new URL('inspector.css', UI_DIR)),
    readFile(new URL('inspector.js', UI_DIR)),
  ]);
  return { html, css, js };
}

const ATTRIBUTE_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '"': '&quot;',
  "'": '&#39;',
  '<': '&lt;',
  '>': '&gt;',
};

/** Text made safe inside a quoted HTML attribute value. */
export function escapeAttribute(text: string): string {
  return text.replace(/[&"'<>]/g, (c) => ATTRIBUTE_ESCAPES[c]!);
}

/**
 * The page with the run's token, listen's webhook URL and its --forward-to app (password masked,
 * empty without one) in its meta tags (all attribute values).
 */
export function pageFor(html: string, values: { token: string; webhookUrl: string; forwardTo: string }): string {
  return html
    .split(TOKEN_PLACEHOLDER)
    .join(escapeAttribute(values.token))
    .split(WEBHOOK_URL_PLACEHOLDER)
    .join(escapeAttribute(values.webhookUrl))
    .split(FORWARD_TO_PLACEHOLDER)
    .join(escapeAttribute(values.forwardTo));
}
