import { EVENT_DESCRIPTIONS, EVENT_TYPES, STATUS_BY_TYPE } from '../events/types.js';
import { EXIT } from '../errors.js';
import { createOutput } from '../report/output.js';

export function runEvents(options: { json?: boolean }): number {
  const out = createOutput({ json: options.json });
  const width = Math.max(...EVENT_TYPES.map((t) => t.length));
  for (const type of EVENT_TYPES) {
    out.record({ type: 'event_type', name: type, status: STATUS_BY_TYPE[type], description: EVENT_DESCRIPTIONS[type] });
    out.line(
      `${out.c.bold(type.padEnd(width))}  sent when ${EVENT_DESCRIPTIONS[type]} ${out.c.dim(`(status: ${STATUS_BY_TYPE[type]})`)}`,
    );
  }
  return EXIT.ok;
}
