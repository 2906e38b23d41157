import { EVENT_TYPES, type EventType } from './types.js';

/** Edits (insert, delete, substitute, swap two neighbours) between two strings. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[rows - 1]![cols - 1]!;
}

/**
 * The candidate nearest to `input`, when it is close enough to be a typo: at most one edit for
 * short words, two from 6 characters, three from 12. Each candidate may have several spellings
 * (a full and a short name); undefined when none is close or two are equally close.
 */
export function closestName<T extends string>(
  input: string,
  candidates: readonly T[],
  spellings: (c: T) => string[] = (c) => [c],
): T | undefined {
  const word = input.trim().toLowerCase();
  if (word === '' || word.length > 64) return undefined;
  let best: T | undefined;
  let bestDistance = Infinity;
  let tie = false;
  for (const candidate of candidates) {
    const distance = Math.min(...spellings(candidate).map((s) => editDistance(word, s)));
    if (distance < bestDistance) [best, bestDistance, tie] = [candidate, distance, false];
    else if (distance === bestDistance && candidate !== best) tie = true;
  }
  const allowed = word.length >= 12 ? 3 : word.length >= 6 ? 2 : 1;
  return best !== undefined && !tie && bestDistance <= allowed ? best : undefined;
}

/** The event type a mistyped name most likely meant (`verifed` → `session.verified`). */
export function suggestEventType(input: string): EventType | undefined {
  const spellings = (t: EventType) => [t, t.slice('session.'.length)];
  // A unique beginning (`cancel`, `exp`) is as telling as a typo.
  const word = input.trim().toLowerCase();
  const starts = word.length >= 3 ? EVENT_TYPES.filter((t) => spellings(t).some((s) => s.startsWith(word))) : [];
  if (starts.length === 1) return starts[0];
  return closestName(input, EVENT_TYPES, spellings);
}

/** The hint for an unknown type name: the nearest type when there is one, and the six. */
export function unknownTypeHint(input: string, extra = ''): string {
  const near = suggestEventType(input);
  const list = `types: ${EVENT_TYPES.join(', ')}${extra}`;
  return near ? `did you mean ${near}? (${list})` : `use one of the ${list}`;
}
