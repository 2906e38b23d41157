// Drives the built CLI in a real pseudo-terminal: tmux runs it, send-keys types, capture-pane reads
// the screen. Every session gets its own tmux server socket, so a server still shutting down from a
// previous session can never take the next one with it.
import { execFileSync } from 'node:child_process';
import { BIN } from './cli.js';

let sessions = 0;

export interface TerminalOptions {
  env?: Record<string, string>;
  /** Variables removed from the environment first (CI and the provider's two are always removed). */
  unset?: string[];
  /** The working folder. */
  cwd?: string;
  /** Send the CLI's stdout to this file (the screen keeps stderr). */
  stdoutFile?: string;
  cols?: number;
  rows?: number;
}

export interface Terminal {
  screen(): string;
  keys(...keys: string[]): void;
  /** Waits until the screen shows `text` (bounded: 10 s by default). */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<string>;
  /** Ends the session and its tmux server (safe to call twice). */
  close(): void;
}

const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;

/** Runs `facesign-webhooks ARGS` in a fresh tmux session; the shell prints `EXIT=<code>` when it ends. */
export function startTerminal(args: string[], options: TerminalOptions = {}): Terminal {
  const socket = `fw-test-${process.pid}-${++sessions}`;
  const tmux = (...a: string[]) => execFileSync('tmux', ['-L', socket, ...a], { encoding: 'utf8' });
  const unset = ['CI', 'FACESIGN_WEBHOOK_SECRET', 'FACESIGN_WEBHOOKS_URL', ...(options.unset ?? [])];
  const vars = Object.entries({ NO_COLOR: '1', ...options.env }).map(([k, v]) => `${k}=${v}`);
  const cmd = ['env', ...unset.flatMap((name) => ['-u', name]), ...vars, process.execPath, BIN, ...args];
  const redirect = options.stdoutFile ? ` > ${quote(options.stdoutFile)}` : '';
  const size = ['-x', String(options.cols ?? 160), '-y', String(options.rows ?? 40)];
  const where = options.cwd ? ['-c', options.cwd] : [];
  tmux(
    'new-session',
    '-d',
    '-s',
    'cli',
    ...size,
    ...where,
    `${cmd.map(quote).join(' ')}${redirect}; echo "EXIT=$?"; sleep 60`,
  );
  let closed = false;
  const screen = () => tmux('capture-pane', '-p', '-J', '-t', 'cli');
  return {
    screen,
    keys: (...k) => void tmux('send-keys', '-t', 'cli', ...k),
    async waitFor(text, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = screen();
        if (typeof text === 'string' ? s.includes(text) : text.test(s)) return s;
        if (Date.now() > deadline) throw new Error(`screen never showed ${String(text)}:\n${s}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        tmux('kill-server');
      } catch {
        // already gone
      }
    },
  };
}
