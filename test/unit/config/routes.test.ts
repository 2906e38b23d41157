import { describe, expect, it } from 'vitest';
import { globProblem, matchesPattern, routeFor, typesMatching } from '../../../src/config/routes.js';

const routes = (...patterns: string[]) => patterns.map((pattern) => ({ pattern }));

describe('route patterns', () => {
  it('a glob matches by *, everything else literally', () => {
    expect(matchesPattern('session.*', 'session.failed')).toBe(true);
    expect(matchesPattern('*.failed', 'session.failed')).toBe(true);
    expect(matchesPattern('*', 'session.created')).toBe(true);
    expect(matchesPattern('session.*', 'sessionXfailed')).toBe(false); // "." is not a wildcard
    expect(matchesPattern('session.failed', 'session.failed')).toBe(true);
    expect(typesMatching('session.c*')).toEqual(['session.created', 'session.cancelled']);
  });

  it('names what is wrong with a glob', () => {
    expect(globProblem('session.**')).toMatch(/"\*\*" is not a wildcard/);
    expect(globProblem('session.[ab]')).toMatch(/only/);
    expect(globProblem('Session.*')).toMatch(/lowercase/);
    expect(globProblem('session.*')).toBeUndefined();
  });

  it('exact beats glob, whatever the order', () => {
    expect(routeFor(routes('session.*', 'session.failed'), 'session.failed')?.pattern).toBe('session.failed');
    expect(routeFor(routes('session.failed', 'session.*'), 'session.failed')?.pattern).toBe('session.failed');
  });

  it('a longer glob beats a shorter one; equal lengths: the first written', () => {
    expect(routeFor(routes('*', 'session.*', 'session.f*'), 'session.failed')?.pattern).toBe('session.f*');
    expect(routeFor(routes('*.failed', 'session.*'), 'session.failed')?.pattern).toBe('session.*');
    expect(routeFor(routes('session.v*', 's*.verified'), 'session.verified')?.pattern).toBe('s*.verified');
    expect(routeFor(routes('sess*', 'se*on'), 'session')?.pattern).toBe('sess*');
  });

  it('no matching route: undefined', () => {
    expect(routeFor(routes('session.v*'), 'session.failed')).toBeUndefined();
    expect(routeFor([], 'session.failed')).toBeUndefined();
  });
});
