import { EVENT_DESCRIPTIONS, STATUS_BY_TYPE, type EventType } from '../events/types.js';
import type { Output } from './output.js';

/** The NDJSON `event_type` record (documented; keep it stable). */
export function eventTypeRecord(type: EventType) {
  return { type: 'event_type', name: type, status: STATUS_BY_TYPE[type], description: EVENT_DESCRIPTIONS[type] };
}

/** `events`: each type, what triggers it and its session status, aligned. */
export function printEventTypes(out: Output, types: readonly EventType[]): void {
  const width = Math.max(...types.map((t) => t.length));
  for (const type of types) {
    out.record(eventTypeRecord(type));
    const status = out.c.dim(`(status: ${STATUS_BY_TYPE[type]})`);
    out.line(`${out.c.bold(type.padEnd(width))}  sent when ${EVENT_DESCRIPTIONS[type]} ${status}`);
  }
}

/** An event as `fixtures` prints it: pretty JSON, or the event itself as one NDJSON line. */
export function printFixture(out: Output, event: object): void {
  out.record(event as Record<string, unknown>);
  out.line(JSON.stringify(event, null, 2));
}

/** The NDJSON `fixture_written` record, and the note naming the file. */
export function printFixtureWritten(out: Output, eventType: string, path: string): void {
  out.record({ type: 'fixture_written', event_type: eventType, path });
  out.note(`wrote ${path}`);
}

/** A schema document as the result: pretty JSON, or one compact line under --json. */
export function printSchemaDocument(out: Output, document: unknown): void {
  out.write(`${out.json ? JSON.stringify(document) : JSON.stringify(document, null, 2)}\n`);
}

/** The NDJSON `schema_written` record, and the note naming the file. */
export function printSchemaWritten(out: Output, written: { format: string; file: string; path: string }): void {
  out.record({ type: 'schema_written', ...written });
  out.note(`wrote ${written.path}`);
}
