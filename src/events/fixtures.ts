import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { EventType } from './types.js';
import type { JsonObject } from './json.js';

/** The shipped fixtures live in `fixtures/` at the package root (two levels above src/events and dist/events). */
export const FIXTURES_DIR = fileURLToPath(new URL('../../fixtures/', import.meta.url));

const cache = new Map<EventType, JsonObject>();

/** The type's fixture exactly as shipped (a fresh copy each call). */
export function loadFixture(type: EventType): JsonObject {
  let fixture = cache.get(type);
  if (!fixture) {
    fixture = JSON.parse(readFileSync(`${FIXTURES_DIR}${type}.json`, 'utf8')) as JsonObject;
    cache.set(type, fixture);
  }
  return structuredClone(fixture);
}
