import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The placeholders in ui/index.html that the server replaces: the run's token, listen's webhook URL. */
export const TOKEN_PLACEHOLDER = '__FACESIGN_TOKEN__';
export const WEBHOOK_URL_PLACEHOLDER = '__FACESIGN_WEBHOOK_URL__';

/** The inspector page's files, as shipped in the package's `ui/` folder. */
export interface UiAssets {
  html: string;
  css: Buffer;
  js: Buffer;
}

/**
 * The package root: the first folder above this module holding the package's package.json
 * (src/receiver, dist/receiver and the bundled dist/cli all sit at different depths).
 */
export function findPackageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string | undefined {
  for (let dir = from, up = 0; up < 6; up++, dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'facesign-webhooks') return dir;
      } catch {
        // not ours (or unreadable): keep walking up
      }
    }
    if (dirname(dir) === dir) break;
  }
  return undefined;
}

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
  const root = findPackageRoot();
  if (root === undefined) throw new Error("the package's folder (with package.json) was not found");
  const dir = join(root, 'ui');
  const [html, css, js] = await Promise.all([
    readFile(join(dir, 'index.html'), 'utf8'),
    readFile(join(dir, 'inspector.css')),
    readFile(join(dir, 'inspector.js')),
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

/** The page with the run's token and listen's webhook URL in its meta tags (both attribute values). */
export function pageFor(html: string, values: { token: string; webhookUrl: string }): string {
  return html
    .split(TOKEN_PLACEHOLDER)
    .join(escapeAttribute(values.token))
    .split(WEBHOOK_URL_PLACEHOLDER)
    .join(escapeAttribute(values.webhookUrl));
}
