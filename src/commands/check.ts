import { accessSync, constants, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CHECK_CASE_IDS, DEFAULT_BURST, planCheck, selectCases, type CheckCase } from '../check/cases.js';
import { runCheck, type CheckReport } from '../check/run.js';
import type { CaseResult, CheckOutcome } from '../check/judge.js';
import { DEFAULT_TIMEOUT_MS } from '../delivery/deliver.js';
import { displayUrl, resolveTarget } from '../delivery/target.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { watchInterrupt } from '../interrupt.js';
import { formatJUnit } from '../report/junit.js';
import { createOutput, formatMs, maskSecret, type Output } from '../report/output.js';
import { resolveSecret, SECRET_ENV } from '../secret.js';
import { positiveInt, timeoutFlag, tlsOptionsFrom } from './shared.js';

export const CHECK_REPORTERS = ['human', 'junit'] as const;
export type CheckReporter = (typeof CHECK_REPORTERS)[number];

export interface CheckOptions {
  to?: string;
  secret?: string;
  timeout?: number;
  /** Case ids (comma-separated or repeated); `valid` names the six valid.* cases. */
  only?: string[] | string;
  skip?: string[] | string;
  burst?: number;
  /** `junit` writes JUnit XML to `output` (or stdout without it). Default: junit when `output` is set. */
  reporter?: string;
  output?: string;
  header?: string[];
  json?: boolean;
  insecure?: boolean;
  ca?: string;
}

/** Where each part of the report goes, decided before anything is sent. */
interface ReportPlan {
  table: boolean;
  junit: 'none' | 'stdout' | 'file';
  outputPath?: string;
}

/** The closest existing path at or above `path`, and whether it is a folder. */
function existingAncestor(path: string): { path: string; isDir: boolean } {
  for (let at = path; ; at = dirname(at)) {
    try {
      return { path: at, isDir: statSync(at).isDirectory() };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(at) === at) return { path: at, isDir: false };
    }
  }
}

/** Checks the reporter flags fit together (pure apart from looking at the output's folder, which is created only when the report is written). */
export function planReport(options: Pick<CheckOptions, 'reporter' | 'output' | 'json'>): ReportPlan {
  const reporter = options.reporter ?? (options.output !== undefined ? 'junit' : 'human');
  if (!(CHECK_REPORTERS as readonly string[]).includes(reporter)) {
    throw usageError(`unknown --reporter "${reporter}"`, `use one of: ${CHECK_REPORTERS.join(', ')}`);
  }
  if (reporter === 'human') {
    if (options.output !== undefined)
      throw usageError('--output is where the JUnit report goes', 'add --reporter junit, or drop --output');
    return { table: !options.json, junit: 'none' };
  }
  if (options.output === undefined) {
    if (options.json)
      throw usageError(
        '--reporter junit and --json both want stdout',
        'add --output report.xml to write the JUnit report to a file',
      );
    return { table: false, junit: 'stdout' };
  }
  if (options.output === '') throw usageError('--output is empty', 'e.g. --output reports/facesign-check.xml');
  const outputPath = resolve(options.output);
  // Refused before anything is sent: a run whose report cannot be written is wasted.
  const cannot = (why: string) =>
    usageError(
      `cannot write --output "${options.output}": ${why}`,
      'pick a path in a folder you can write to, e.g. --output reports/facesign-check.xml',
    );
  const target = existingAncestor(outputPath);
  if (target.path === outputPath && target.isDir) throw cannot('it is a folder');
  const folder = target.path === outputPath ? existingAncestor(dirname(outputPath)) : target;
  if (!folder.isDir) throw cannot(`${folder.path} is not a folder`);
  for (const path of target.path === outputPath ? [folder.path, outputPath] : [folder.path]) {
    try {
      accessSync(path, constants.W_OK);
    } catch {
      throw cannot(`${path} is not writable`);
    }
  }
  return { table: !options.json, junit: 'file', outputPath };
}

/** The NDJSON shape of one case (documented in the README; keep it stable). */
export function caseRecord(r: CaseResult) {
  return {
    type: 'case',
    id: r.id,
    title: r.title,
    outcome: r.outcome,
    expected: r.expected,
    happened: r.happened,
    hint: r.hint ?? null,
    note: r.note ?? null,
    duration_ms: Math.round(r.durationMs * 10) / 10,
    deliveries: r.deliveries.map((d) => ({
      label: d.label,
      event_id: d.request.eventId,
      event_type: d.request.eventType,
      signature_mode: d.request.signatureMode,
      status: d.result.status ?? null,
      ok: d.result.ok,
      latency_ms: Math.round(d.result.latencyMs * 10) / 10,
      response_body: d.result.responseBody ?? null,
      error: d.result.error ?? null,
    })),
  };
}

export function summaryRecord(report: CheckReport) {
  return {
    type: 'summary',
    url: report.url,
    cases: report.cases.length,
    passed: report.passed,
    warned: report.warned,
    failed: report.failed,
    failed_ids: report.failedIds,
    warned_ids: report.cases.filter((r) => r.outcome === 'warn').map((r) => r.id),
    diagnosis: report.diagnosis ?? null,
    summary: report.summary,
    duration_ms: Math.round(report.durationMs),
    interrupted: report.interrupted,
    unreachable: report.unreachable ?? null,
    ok: report.failed === 0 && !report.interrupted && !report.unreachable,
  };
}

/** Prints the table one row at a time, with column widths fixed from the plan. */
function createTable(out: Output, plan: CheckCase[]) {
  const { c } = out;
  const idWidth = Math.max(4, ...plan.map((p) => p.id.length));
  const expWidth = Math.max(8, ...plan.map((p) => p.expected.length));
  const mark: Record<CheckOutcome, string> = { pass: c.green('PASS'), warn: c.yellow('WARN'), fail: c.red('FAIL') };
  return {
    header() {
      out.line(c.bold(`${'RESULT'}  ${'CASE'.padEnd(idWidth)}  ${'EXPECTED'.padEnd(expWidth)}  HAPPENED`));
    },
    row(r: CaseResult) {
      out.line(`${mark[r.outcome]}    ${r.id.padEnd(idWidth)}  ${r.expected.padEnd(expWidth)}  ${r.happened}`);
      if (r.hint) out.line(`${' '.repeat(8)}${c.dim('hint:')} ${r.hint}`);
      if (r.note) out.line(`${' '.repeat(8)}${c.dim('note:')} ${r.note}`);
    },
  };
}

function summaryLine(out: Output, report: CheckReport): string {
  const { c } = out;
  const n = report.cases.length;
  const parts = [
    c.green(`${report.passed} passed`),
    report.warned ? c.yellow(`${report.warned} warned`) : `0 warned`,
    report.failed ? c.red(`${report.failed} failed`) : '0 failed',
  ];
  const names = report.failedIds.length ? ` (${report.failedIds.join(', ')})` : '';
  const verdict = report.interrupted ? c.yellow('interrupted') : report.failed ? c.red('FAIL') : c.green('OK');
  return `${verdict}: ${n} ${n === 1 ? 'case' : 'cases'}, ${parts.join(', ')}${names} in ${formatMs(report.durationMs)}`;
}

/**
 * Creates the report's missing folders (`reports/` in a fresh CI checkout) before anything is sent,
 * one level at a time: a recursive mkdir spins forever under /proc.
 */
export function ensureOutputFolder(outputPath: string, shown: string): void {
  const missing: string[] = [];
  for (let dir = dirname(outputPath); existingAncestor(dir).path !== dir; dir = dirname(dir)) missing.unshift(dir);
  for (const dir of missing) {
    try {
      mkdirSync(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw usageError(
        `cannot write --output "${shown}": cannot create the folder ${dir} (${code})`,
        'pick a path in a folder you can write to, e.g. --output reports/facesign-check.xml',
      );
    }
  }
}

function writeJUnit(path: string, xml: string): void {
  try {
    writeFileSync(path, xml);
  } catch (err) {
    throw usageError(
      `cannot write the JUnit report to ${path}: ${(err as Error).message}`,
      'check the path and its permissions',
    );
  }
}

function unreachableError(report: CheckReport): CliError {
  const error = report.unreachable!;
  const kind: string = error.kind;
  if (kind === 'refused') {
    return new CliError(
      `connection refused at ${report.url} — is your app running? start it (and wait for its port) before check`,
      { exitCode: EXIT.failed },
    );
  }
  if (kind === 'tls') {
    // The delivery layer names the case (network-error.ts); the hint says which flag or scheme fixes it.
    const plain = /answered in plain HTTP/.exec(error.message);
    if (plain) {
      return new CliError(`cannot reach ${report.url}: the TLS handshake failed (the port answered in plain HTTP)`, {
        exitCode: EXIT.failed,
        hint: 'https:// to a plain-HTTP port? use http://',
      });
    }
    if (/ speaks TLS/.test(error.message)) {
      return new CliError(`cannot reach ${report.url}: the port speaks TLS, not plain HTTP`, {
        exitCode: EXIT.failed,
        hint: 'http:// to a TLS port? use https://',
      });
    }
    const reason =
      /^TLS error talking to [^:]+:\d+: (.*?)(?: — .*)?$/.exec(oneLine(error.message))?.[1] ?? oneLine(error.message);
    return new CliError(`cannot reach ${report.url}: the TLS handshake failed (${reason})`, {
      exitCode: EXIT.failed,
      hint: "the server's certificate is not trusted here (self-signed or a private CA)? trust its CA with --ca FILE, or skip the check with --insecure",
    });
  }
  if (kind === 'protocol' || error.code?.startsWith('HPE_')) {
    return new CliError(`cannot reach ${report.url}: the answer is not HTTP/1.x (${oneLine(error.message)})`, {
      exitCode: EXIT.failed,
      hint: 'http:// to a TLS port? use https://; else check --to points at your web server, not another service',
    });
  }
  return new CliError(`cannot reach ${report.url}: ${oneLine(error.message)}`, { exitCode: EXIT.failed });
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Where the secret came from, masked: the diagnosis names what to compare. */
function secretSource(flag: string | undefined, secret: string): string {
  if (flag !== undefined) return `--secret ${maskSecret(secret)}`;
  if (process.env[SECRET_ENV]) return `$${SECRET_ENV} (${maskSecret(secret)})`;
  return `the secret typed at the prompt (${maskSecret(secret)})`;
}

export async function runCheckCommand(options: CheckOptions): Promise<number> {
  const reportPlan = planReport(options);
  const out = createOutput({ json: options.json });
  const cases = selectCases(options.only, options.skip);
  const burst = positiveInt(options.burst, '--burst', DEFAULT_BURST);
  if (options.burst !== undefined && !cases.includes('burst')) {
    const flag = options.only !== undefined && !selectCases(options.only).includes('burst') ? '--only' : '--skip';
    throw usageError(
      `--burst has no effect: ${flag} leaves out the burst case`,
      `add burst to ${flag === '--only' ? '--only' : 'the cases (drop it from --skip)'}, or drop --burst`,
    );
  }
  const timeoutMs = timeoutFlag(options.timeout, DEFAULT_TIMEOUT_MS);
  // The target has a default (as for send), so it is never asked; only a missing secret is.
  const url = resolveTarget(options.to);
  const secret = await resolveSecret(options.secret);
  const plan = planCheck({ url, secret, cases, burst, headers: options.header });
  const tls = tlsOptionsFrom(options, out.note);
  if (reportPlan.outputPath) ensureOutputFolder(reportPlan.outputPath, options.output!);

  const table = createTable(out, plan);
  const line = (text?: string) => {
    if (reportPlan.table) out.line(text);
  };
  line(
    `check ${out.c.bold(displayUrl(url))} ${out.c.dim(`(secret ${maskSecret(secret)}, timeout ${timeoutMs} ms, ${plan.length} of ${CHECK_CASE_IDS.length} cases)`)}`,
  );
  line();
  if (reportPlan.table) table.header();

  const interrupt = watchInterrupt();
  let report: CheckReport;
  try {
    report = await runCheck(plan, url, {
      ...tls,
      timeoutMs,
      signal: interrupt.signal,
      onCase: (r) => {
        out.record(caseRecord(r));
        if (reportPlan.table) table.row(r);
      },
    });
  } finally {
    interrupt.dispose();
  }

  out.record(summaryRecord(report));
  const xml = formatJUnit(report);
  if (reportPlan.junit === 'file') writeJUnit(reportPlan.outputPath!, xml);
  if (reportPlan.junit === 'stdout') process.stdout.write(xml);
  if (report.unreachable) throw unreachableError(report);
  line();
  if (report.diagnosis === 'secret-mismatch') {
    line(
      out.c.red(
        `the secrets most likely differ: every validly signed event was rejected with 4xx, in every byte form sent, and so was every bad signature. This run signed with ${secretSource(options.secret, secret)}: give check the secret your app verifies with.`,
      ),
    );
  }
  line(summaryLine(out, report));
  if (reportPlan.junit === 'file' && reportPlan.table)
    out.note(out.ce.dim(`JUnit report written to ${options.output}`));
  if (report.interrupted) return EXIT.interrupted;
  return report.failed > 0 ? EXIT.failed : EXIT.ok;
}
