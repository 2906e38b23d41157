import { EVENT_TYPES, type EventType } from '../events/types.js';
import type { ConfigRoute } from './schema.js';

/*
 * Route patterns: an event type (`session.verified`) or a glob where `*` stands for any run of
 * characters (`session.*`, `*.failed`, `*`). For a type, an exact pattern wins; else the longest
 * matching glob; two globs of one length: the one written first.
 */

/** The characters a pattern may hold: those of event types, and `*`. */
export const PATTERN_CHARACTERS = /^[a-z0-9_.*]+$/;

/** Why a pattern is not a usable glob, or undefined when it is one (or is a plain name). */
export function globProblem(pattern: string): string | undefined {
  if (pattern === '') return 'an empty pattern matches nothing';
  if (!PATTERN_CHARACTERS.test(pattern))
    return 'a pattern holds lowercase letters, digits, ".", "_" and the wildcard "*" only';
  if (pattern.includes('**')) return '"**" is not a wildcard here: one "*" already matches any run of characters';
  return undefined;
}

export function isGlob(pattern: string): boolean {
  return pattern.includes('*');
}

/** Whether `type` matches `pattern` (`*` = any run of characters, everything else literal). */
export function matchesPattern(pattern: string, type: string): boolean {
  if (!isGlob(pattern)) return pattern === type;
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.]/g, '\\.'))
    .join('.*');
  return new RegExp(`^${source}$`).test(type);
}

/** The event types a pattern matches. */
export function typesMatching(pattern: string): EventType[] {
  return EVENT_TYPES.filter((type) => matchesPattern(pattern, type));
}

/** The route for a type: exact beats glob, a longer glob beats a shorter, then file order; or undefined. */
export function routeFor<R extends Pick<ConfigRoute, 'pattern'>>(routes: readonly R[], type: string): R | undefined {
  const exact = routes.find((r) => r.pattern === type);
  if (exact) return exact;
  let best: R | undefined;
  for (const route of routes) {
    if (!isGlob(route.pattern) || !matchesPattern(route.pattern, type)) continue;
    if (best === undefined || route.pattern.length > best.pattern.length) best = route;
  }
  return best;
}
