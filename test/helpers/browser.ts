// A real headless Chromium for the page tests: Debian's `chromium` package driven by playwright-core.
// Nothing downloads a browser build: when the package is missing and we run as root, apt installs it.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** How long a first run may spend installing the package (apt update + install). */
export const BROWSER_SETUP_TIMEOUT_MS = 15 * 60_000;

function findChromium(): string | undefined {
  const fromEnv = process.env.CHROME_PATH;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  return CANDIDATES.find((p) => existsSync(p));
}

/** The browser's executable path; installs Debian's `chromium` package when it is missing (root only). */
export function ensureChromium(): string {
  const found = findChromium();
  if (found) return found;
  if (process.env.CHROME_PATH) throw new Error(`CHROME_PATH=${process.env.CHROME_PATH} does not exist`);
  if (process.getuid?.() !== 0) {
    throw new Error(
      'chromium is not installed and this is not root: run `apt-get install chromium` or set CHROME_PATH',
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env, timeout: BROWSER_SETUP_TIMEOUT_MS });
  execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], {
    stdio: 'ignore',
    env,
    timeout: BROWSER_SETUP_TIMEOUT_MS,
  });
  const installed = findChromium();
  if (!installed) throw new Error('apt-get install chromium finished but no chromium executable was found');
  return installed;
}

/** Launches headless Chromium with the flags a shared CI machine needs (no sandbox as root, no GPU, no network chatter). */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: ensureChromium(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-default-apps',
      '--disable-extensions',
      '--disable-sync',
      '--no-first-run',
      '--metrics-recording-only',
    ],
  });
}
