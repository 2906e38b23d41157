import { accessSync, constants, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  CHECK_CASE_IDS,
  DEFAULT_BURST,
  planCheck,
  selectCases,
  type CheckCase,
  type CheckCaseId,
} from '../check/cases.js';
import { runCheck, type RunCheckOptions } from '../check/run.js';
import { projectSettings } from '../config/index.js';
import { displayUrl } from '../delivery/target.js';
import type { EventType } from '../events/types.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { watchInterrupt } from '../interrupt.js';
import {
  caseRecord,
  checkHeadLine,
  checkRouteLines,
  checkSummaryLine,
  createCheckTable,
  describeUnreachable,
  secretMismatchLine,
  summaryRecord,
} from '../report/check.js';
import { maskSecret } from '../report/format.js';
import { formatJUnit } from '../report/junit.js';
import { createOutput, type Output } from '../report/output.js';
import { resolveSecret } from '../secret.js';
import { asFlags, positiveInt, timeoutFlag, tlsOptionsFrom } from './shared.js';

export const CHECK_REPORTERS = ['human', 'junit'] as const;
export type CheckReporter = (typeof CHECK_REPORTERS)[number];

export interface CheckOptions {
  /** The project config file (else the one found upward). */
  config?: string;
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

/**
 * Checks the reporter flags fit together (pure apart from looking at the output's folder, which is
 * created only when the report is written).
 */
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

/** Where the secret came from, masked: the diagnosis names what to compare. */
function secretSource(flag: string | undefined, secret: string, envName: string): string {
  if (flag !== undefined) return `--secret ${maskSecret(secret)}`;
  if (process.env[envName]) return `$${envName} (${maskSecret(secret)})`;
  return `the secret typed at the prompt (${maskSecret(secret)})`;
}

/** Prints the case rows as they come, and hands each case's record to --json. */
async function runWithTable(out: Output, plan: CheckCase[], url: string, options: RunCheckOptions, table: boolean) {
  const rows = createCheckTable(out, plan);
  // The column header comes with the first row: a run that cannot reach the endpoint ends in one line.
  let headed = false;
  const interrupt = watchInterrupt();
  try {
    return await runCheck(plan, url, {
      ...options,
      signal: interrupt.signal,
      onCase: (r) => {
        out.record(caseRecord(r));
        if (!table) return;
        if (!headed) {
          out.line();
          rows.header();
        }
        headed = true;
        rows.row(r);
      },
    });
  } finally {
    interrupt.dispose();
  }
}

/** `--burst` with no burst case among the cases would be silently ignored. */
function checkBurstApplies(options: CheckOptions, cases: CheckCaseId[]): void {
  if (options.burst !== undefined && !cases.includes('burst')) {
    const onlyDropsIt = options.only !== undefined && !selectCases(options.only).includes('burst');
    const flag = onlyDropsIt ? '--only' : '--skip';
    throw usageError(
      `--burst has no effect: ${flag} leaves out the burst case`,
      `add burst to ${flag === '--only' ? '--only' : 'the cases (drop it from --skip)'}, or drop --burst`,
    );
  }
}

export async function runCheckCommand(options: CheckOptions): Promise<number> {
  const reportPlan = planReport(options);
  const out = createOutput({ json: options.json });
  const cases = selectCases(options.only, options.skip);
  const burst = positiveInt(options.burst, '--burst', DEFAULT_BURST);
  checkBurstApplies(options, cases);
  const settings = projectSettings(options.config, {
    to: options.to,
    timeoutMs: timeoutFlag(options.timeout),
  });
  const timeoutMs = settings.timeoutMs.value;
  // The target has a default (as for send), so it is never asked; only a missing secret is.
  const url = settings.target().value;
  // A type's own case goes to that type's route; the cases not tied to one type go to `url`.
  const urlFor = settings.routed ? (type: EventType) => settings.target(type).value : undefined;
  const secretEnv = settings.secretEnv.value;
  const secret = await resolveSecret(options.secret, process.env, secretEnv);
  const plan = asFlags({ burst: '--burst' }, () =>
    planCheck({ url, secret, cases, burst, headers: options.header, urlFor }),
  );
  const tls = tlsOptionsFrom(options, out.note);
  if (reportPlan.outputPath) ensureOutputFolder(reportPlan.outputPath, options.output!);

  const line = (text?: string) => {
    if (reportPlan.table) out.line(text);
  };
  const of = `${plan.length} of ${CHECK_CASE_IDS.length}`;
  line(checkHeadLine(out, { url: displayUrl(url), secret: maskSecret(secret), timeoutMs, of }));
  if (urlFor) for (const routeLine of checkRouteLines(out, plan, url)) line(routeLine);
  const report = await runWithTable(out, plan, url, { ...tls, timeoutMs }, reportPlan.table);

  out.record(summaryRecord(report));
  const xml = formatJUnit(report);
  if (reportPlan.junit === 'file') writeJUnit(reportPlan.outputPath!, xml);
  if (reportPlan.junit === 'stdout') out.write(xml);
  const unreachable = describeUnreachable(report);
  if (unreachable) throw new CliError(unreachable.message, { exitCode: EXIT.failed, hint: unreachable.hint });
  line();
  if (report.diagnosis === 'secret-mismatch')
    line(secretMismatchLine(out, secretSource(options.secret, secret, secretEnv)));
  line(checkSummaryLine(out, report));
  if (reportPlan.junit === 'file' && reportPlan.table)
    out.note(out.ce.dim(`JUnit report written to ${options.output}`));
  if (report.interrupted) return EXIT.interrupted;
  return report.failed > 0 ? EXIT.failed : EXIT.ok;
}
