import { mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT, usageError } from '../errors.js';
import {
  envelopeSchema,
  eventSchema,
  eventsSchema,
  openApiDocument,
  SCHEMA_FORMATS,
  type JsonSchema,
  type SchemaFormat,
} from '../events/schema.js';
import { EVENT_TYPES, normalizeEventType, type EventType } from '../events/types.js';
import { printSchemaDocument, printSchemaWritten } from '../report/events.js';
import { createOutput } from '../report/output.js';

export interface SchemaOptions {
  /** An event type (or short name), `envelope`, or `all` (the default). */
  type?: string;
  /** A directory to write the documents to instead of stdout. */
  out?: string;
  format?: string;
  json?: boolean;
}

/** One document to print or write, with the file name it gets under `--out`. */
export interface SchemaDocument {
  file: string;
  document: JsonSchema;
}

const SUBJECTS = ['all', 'envelope', ...EVENT_TYPES];

/** What `schema [type] --format F` produces, as data: one document for stdout, and the files for `--out`. */
export function planSchemaDocuments(name: string, format: string): { stdout: SchemaDocument; files: SchemaDocument[] } {
  if (!(SCHEMA_FORMATS as readonly string[]).includes(format)) {
    throw usageError(`unknown --format "${format}"`, `use one of: ${SCHEMA_FORMATS.join(', ')}`);
  }
  const subject = name.trim().toLowerCase();
  const type = subject === 'all' || subject === 'envelope' ? undefined : normalizeEventType(subject);
  if (subject !== 'all' && subject !== 'envelope' && type === undefined) {
    throw usageError(
      `unknown event type "${name}"`,
      `use one of: ${SUBJECTS.join(', ')} (short names such as verified work too)`,
    );
  }
  if ((format as SchemaFormat) === 'openapi') {
    if (subject === 'envelope')
      throw usageError(
        '--format openapi describes the six webhooks, not the envelope alone',
        'use all or an event type, or drop --format',
      );
    const doc = type
      ? { file: `${type}.openapi.json`, document: openApiDocument([type]) }
      : { file: 'facesign-webhooks.openapi.json', document: openApiDocument() };
    return { stdout: doc, files: [doc] };
  }
  if (type) {
    const doc = { file: `${type}.schema.json`, document: eventSchema(type) };
    return { stdout: doc, files: [doc] };
  }
  const envelope = { file: 'envelope.schema.json', document: envelopeSchema() };
  if (subject === 'envelope') return { stdout: envelope, files: [envelope] };
  const all = { file: 'events.schema.json', document: eventsSchema() };
  const perType = EVENT_TYPES.map((t: EventType) => ({ file: `${t}.schema.json`, document: eventSchema(t) }));
  return { stdout: all, files: [...perType, envelope, all] };
}

function prepareDirectory(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === 'EEXIST' || code === 'ENOTDIR'
        ? 'a file is in the way (--out takes a directory)'
        : (err as Error).message;
    throw usageError(
      `cannot write to --out "${dir}": ${reason}`,
      'give a directory that exists or can be created, and that you can write to',
    );
  }
}

function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (err) {
    throw usageError(`cannot write "${path}": ${(err as Error).message}`, 'check that the directory is writable');
  }
}

export function runSchema(options: SchemaOptions): number {
  const out = createOutput({ json: options.json });
  const format = options.format ?? 'json-schema';
  const plan = planSchemaDocuments(options.type ?? 'all', format);
  if (options.out === undefined) {
    printSchemaDocument(out, plan.stdout.document);
    return EXIT.ok;
  }
  if (options.out.trim() === '') throw usageError('--out is empty', 'e.g. --out ./schemas');
  prepareDirectory(options.out);
  for (const { file, document } of plan.files) {
    const path = join(options.out, file);
    writeAtomically(path, `${JSON.stringify(document, null, 2)}\n`);
    printSchemaWritten(out, { format, file, path });
  }
  return EXIT.ok;
}
