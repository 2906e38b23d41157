import { readFileSync } from 'node:fs';

/**
 * The package version, from the package.json above this file: one level up from src/ and dist/,
 * two from the bundled dist/cli/.
 */
function readVersion(): string {
  for (const up of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'facesign-webhooks' && pkg.version) return pkg.version;
    } catch {
      // not there: try the next level
    }
  }
  return '0.0.0';
}

/** Set by the CLI bundle (scripts/bundle.mjs); absent in the unbundled library. */
declare const __FW_VERSION__: string | undefined;

export const VERSION: string = typeof __FW_VERSION__ === 'string' ? __FW_VERSION__ : readVersion();
