import type { CheckReport } from '../check/run.js';
import { isoTime } from './format.js';

/** Characters XML 1.0 cannot carry at all (control characters, lone surrogates, U+FFFE/U+FFFF). */
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Escapes text for element content, replacing characters XML cannot hold with U+FFFD. */
export function escapeXml(value: string): string {
  return value.replace(NOT_XML, '\uFFFD').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escapes an attribute value; line breaks become references, since parsers turn raw ones into spaces. */
export function escapeXmlAttribute(value: string): string {
  return escapeXml(value)
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;')
    .replace(/\t/g, '&#9;');
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

const SUITE = 'facesign-webhooks check';
const CLASS = 'facesign-webhooks.check';

/**
 * The report as JUnit XML, the dialect CI systems (GitHub Actions reporters, GitLab, Jenkins)
 * read: one testsuite, a testcase per case, `<failure>` for fails and `<system-out>` for warnings.
 */
export function formatJUnit(report: CheckReport): string {
  const attrs = (pairs: Record<string, string | number>) =>
    Object.entries(pairs)
      .map(([k, v]) => `${k}="${escapeXmlAttribute(String(v))}"`)
      .join(' ');
  // An endpoint nobody answers at is one failing test, so a CI reader never sees an empty green suite.
  const extra = report.unreachable ? 1 : 0;
  const counts = {
    tests: report.cases.length + extra,
    failures: report.failed + extra,
    errors: 0,
    skipped: 0,
    time: seconds(report.durationMs),
  };
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites ${attrs({ name: SUITE, ...counts })}>`,
    `  <testsuite ${attrs({ name: SUITE, ...counts, timestamp: isoTime(report.startedAt) })}>`,
    '    <properties>',
    `      <property ${attrs({ name: 'url', value: report.url })}/>`,
    ...(report.diagnosis ? [`      <property ${attrs({ name: 'diagnosis', value: report.diagnosis })}/>`] : []),
    ...(report.summary ? [`      <property ${attrs({ name: 'summary', value: report.summary })}/>`] : []),
    '    </properties>',
  ];
  for (const r of report.cases) {
    const caseAttrs = attrs({ classname: CLASS, name: `${r.id}: ${r.title}`, time: seconds(r.durationMs) });
    const open = `    <testcase ${caseAttrs}`;
    const note = r.note ? `\nnote: ${r.note}` : '';
    const detail = `expected: ${r.expected}\nhappened: ${r.happened}${r.hint ? `\nhint: ${r.hint}` : ''}${note}`;
    // A pass stays an empty element (what CI readers count as passed); its note shows in the table and NDJSON.
    if (r.outcome === 'pass') {
      lines.push(`${open}/>`);
    } else if (r.outcome === 'fail') {
      lines.push(`${open}>`);
      lines.push(
        `      <failure ${attrs({ message: `expected ${r.expected}, got ${r.happened}`, type: r.id })}>` +
          `${escapeXml(detail)}</failure>`,
      );
      lines.push('    </testcase>');
    } else {
      lines.push(`${open}>`);
      lines.push(`      <system-out>${escapeXml(`warning: ${detail}`)}</system-out>`);
      lines.push('    </testcase>');
    }
  }
  if (report.unreachable) {
    lines.push(`    <testcase ${attrs({ classname: CLASS, name: 'reach the endpoint', time: '0.000' })}>`);
    lines.push(
      `      <failure ${attrs({ message: report.unreachable.message, type: report.unreachable.kind })}>` +
        `${escapeXml(`${report.url}: ${report.unreachable.message}`)}</failure>`,
    );
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}
