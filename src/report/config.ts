import type { ProjectSettings, Setting, SettingSource } from '../config/resolve.js';
import { displayUrl } from '../delivery/target.js';
import { EVENT_TYPES } from '../events/types.js';
import { formatDuration } from '../retry/schedule.js';
import { maskSecret } from './format.js';
import type { Output } from './output.js';
import { safeText } from './text.js';

/** A source as `config` prints it: `flag --to`, `env $NAME`, `config <file> (key)`, `default`. */
export function sourceText(source: SettingSource): string {
  switch (source.kind) {
    case 'flag':
      return `flag ${source.flag}`;
    case 'env':
      return `env $${source.name}`;
    case 'config':
      return `config ${source.label} (${source.key})`;
    case 'default':
      return 'default';
  }
}

/** A source as the JSON record carries it. */
function sourceRecord(source: SettingSource) {
  switch (source.kind) {
    case 'flag':
      return { source: 'flag', flag: source.flag };
    case 'env':
      return { source: 'env', variable: source.name };
    case 'config':
      return { source: 'config', file: source.label, key: source.key };
    case 'default':
      return { source: 'default' };
  }
}

const ms = (n: number) => formatDuration(n);

/** The settings in display order: name, shown value, JSON value and source. */
function rows(
  s: ProjectSettings,
): { name: string; shown: string; value: unknown; source: SettingSource | undefined }[] {
  const to = s.target();
  const entry = <T>(name: string, setting: Setting<T>, shown: string, value: unknown = setting.value) => ({
    name,
    shown,
    value,
    source: setting.source,
  });
  // The target as shown everywhere: a password in its URL masked, in the JSON record too.
  const toShown = displayUrl(to.value);
  return [
    entry('to', to, toShown, toShown),
    s.secret
      ? {
          name: 'secret',
          shown: maskSecret(s.secret.value),
          value: maskSecret(s.secret.value),
          source: s.secret.source,
        }
      : {
          name: 'secret',
          shown: `not set (pass --secret or set $${s.secretEnv.value})`,
          value: null,
          source: undefined,
        },
    entry('secretEnv', s.secretEnv, s.secretEnv.value),
    entry('timeouts.delivery', s.timeoutMs, ms(s.timeoutMs.value)),
    entry('timeouts.forward', s.forwardTimeoutMs, ms(s.forwardTimeoutMs.value)),
    entry('retry.schedule', s.schedule, s.schedule.value.map(ms).join(',')),
    entry('listen.port', s.listenPort, String(s.listenPort.value)),
    entry('listen.path', s.listenPath, s.listenPath.value),
  ];
}

/** The NDJSON record of `config --json`: every setting with its source, the routes, and each type's target. */
export function configRecord(s: ProjectSettings) {
  const settings = Object.fromEntries(
    rows(s).map((r) => [r.name, { value: r.value, ...(r.source ? sourceRecord(r.source) : { source: null }) }]),
  );
  return {
    type: 'config',
    file: s.config?.path ?? null,
    settings,
    routes: s.routes.map((r) => ({ pattern: r.pattern, target: r.target, url: displayUrl(r.url) })),
    routes_overridden_by: s.routesOverriddenBy ? sourceRecord(s.routesOverriddenBy) : null,
    targets: Object.fromEntries(
      EVENT_TYPES.map((type) => {
        const t = s.target(type);
        return [type, { url: displayUrl(t.value), ...sourceRecord(t.source) }];
      }),
    ),
    fixtures: EVENT_TYPES.filter((type) => s.fixture(type) !== undefined),
  };
}

const pad = (text: string, width: number) => text + ' '.repeat(Math.max(1, width - text.length));

/** `config`'s human report: the file, each setting and its source, the routes, and where each type goes. */
export function printConfig(out: Output, s: ProjectSettings, searchedFrom: string): void {
  out.record(configRecord(s));
  const { c } = out;
  const where = s.config
    ? safeText(s.config.label) + (s.config.label === s.config.path ? '' : c.dim(` (${safeText(s.config.path)})`))
    : `none found from ${safeText(searchedFrom)} up ${c.dim('(facesign-webhooks config --init writes one)')}`;
  out.line(`${c.bold('config file')}  ${where}`);
  out.line();
  const all = rows(s);
  const width = Math.max(...all.map((r) => r.shown.length)) + 3;
  for (const r of all)
    out.line(
      `${pad(r.name, 19)}${pad(safeText(r.shown), width)}${c.dim(r.source ? safeText(sourceText(r.source)) : '-')}`,
    );
  out.line();
  if (s.routes.length === 0) out.line(`${c.bold('routes')}  none`);
  else {
    out.line(`${c.bold('routes')}  ${c.dim('(exact type beats glob, longer glob beats shorter, then file order)')}`);
    const w = Math.max(...s.routes.map((r) => r.pattern.length)) + 2;
    for (const r of s.routes) out.line(`  ${pad(safeText(r.pattern), w)}→ ${safeText(displayUrl(r.url))}`);
    if (s.routesOverriddenBy)
      out.line(
        c.yellow(`  not used: ${sourceText(s.routesOverriddenBy)} sends every type to ${displayUrl(s.target().value)}`),
      );
  }
  out.line();
  out.line(c.bold('deliveries by type'));
  const targets = EVENT_TYPES.map((type) => ({ type, target: s.target(type) }));
  const urlWidth = Math.max(...targets.map((t) => displayUrl(t.target.value).length)) + 3;
  for (const { type, target } of targets)
    out.line(
      `  ${pad(type, 19)}${pad(safeText(displayUrl(target.value)), urlWidth)}${c.dim(sourceText(target.source))}`,
    );
  const fixtures = EVENT_TYPES.filter((type) => s.fixture(type) !== undefined);
  out.line();
  out.line(`${c.bold('fixtures')}  ${fixtures.length > 0 ? `overrides for ${fixtures.join(', ')}` : 'none'}`);
}
