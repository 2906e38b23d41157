import { EVENT_TYPES } from '../events/types.js';
import { EXIT } from '../errors.js';
import { printEventTypes } from '../report/events.js';
import { createOutput } from '../report/output.js';

export function runEvents(options: { json?: boolean }): number {
  printEventTypes(createOutput({ json: options.json }), EVENT_TYPES);
  return EXIT.ok;
}
