import { describe, expect, it } from 'vitest';
import { checkSendFlags, type SendOptions } from '../../../src/commands/send.js';
import { checkFlowFlags } from '../../../src/commands/flow.js';
import { planRetrySim } from '../../../src/commands/retry-sim.js';
import { timeoutFlag } from '../../../src/commands/shared.js';
import { expectCliError } from '../../helpers/errors.js';

/** Each combination that cannot be honoured is exit 2 naming both flags. */
describe('checkSendFlags', () => {
  it.each<[string, SendOptions, string[]]>([
    ['--count with --repeat', { type: 'verified', count: 5, repeat: 2 }, ['--count', '--repeat']],
    ['--count with --dry-run', { type: 'verified', count: 5, dryRun: true }, ['--dry-run', '--count']],
    ['--count with --curl', { type: 'verified', count: 5, curl: true }, ['--curl', '--count']],
    ['--dry-run with --curl', { type: 'verified', dryRun: true, curl: true }, ['--dry-run', '--curl']],
    ['--dry-run with --expect', { type: 'verified', dryRun: true, expect: '4xx' }, ['--dry-run', '--expect']],
    ['--dry-run with --repeat', { type: 'verified', dryRun: true, repeat: 2 }, ['--dry-run', '--repeat']],
    ['--curl with --timeout', { type: 'verified', curl: true, timeout: 5 }, ['--curl', '--timeout']],
    ['--event-id in load mode', { type: 'verified', count: 5, eventId: 'evt_1' }, ['--event-id', '--count']],
    ['--set id= in load mode', { type: 'verified', count: 5, set: ['id=evt_1'] }, ['--set id=evt_1', '--count']],
    ['--session-id in load mode', { type: 'verified', count: 5, sessionId: 'vs_1' }, ['--session-id', '--count']],
    [
      '--set data.id= in load mode',
      { type: 'verified', count: 5, set: ['data.id=vs_1'] },
      ['--set data.id=vs_1', '--count'],
    ],
    ['--concurrency without --count', { type: 'verified', concurrency: 4 }, ['--concurrency', '--count']],
    ['all with --event-id', { type: 'all', eventId: 'evt_1' }, ['send all', '--event-id']],
    ['all with --set id=', { type: 'all', set: [' id =evt_1'] }, ['send all', '--set  id =evt_1']],
    ['--dry-run with --insecure', { type: 'verified', dryRun: true, insecure: true }, ['--dry-run', '--insecure']],
    ['--curl with --ca', { type: 'verified', curl: true, ca: 'ca.pem' }, ['--curl', '--ca']],
    ['--insecure in load mode', { type: 'verified', count: 5, insecure: true }, ['--insecure', '--count']],
    ['--ca in load mode', { type: 'verified', count: 5, ca: 'ca.pem' }, ['--ca', '--count']],
  ])('%s is a usage error naming both', (_name, options, flags) => {
    const err = expectCliError(() => checkSendFlags(options));
    expect(err.exitCode).toBe(2);
    for (const flag of flags) expect(err.message).toContain(flag);
  });

  it.each<[string, SendOptions]>([
    [
      'load mode with its own flags',
      {
        type: 'all',
        count: 5,
        concurrency: 2,
        expect: '4xx',
        timeout: 100,
        signature: 'invalid',
        userId: 'u',
        set: ['data.metadata.x=1'],
      },
    ],
    [
      'a plain send with every sending flag',
      {
        type: 'verified',
        repeat: 2,
        expect: '4xx',
        timeout: 100,
        eventId: 'evt_1',
        set: ['id=evt_2'],
        insecure: true,
        ca: 'ca.pem',
      },
    ],
    [
      '--dry-run with building flags',
      { type: 'all', dryRun: true, signature: 'tampered', set: ['data.items[0]=1'], header: ['X-A: 1'], json: true },
    ],
    ['--set of a field under id', { type: 'verified', count: 2, set: ['data.identity=1', 'idx=2'] }],
  ])('%s is fine', (_name, options) => {
    expect(() => checkSendFlags(options)).not.toThrow();
  });
});

describe('checkFlowFlags', () => {
  it('refuses --seed without --shuffle, --dry-run with --curl, and --timeout, --insecure or --ca with a preview', () => {
    expect(expectCliError(() => checkFlowFlags({ seed: 3 })).message).toMatch(/--seed.*--shuffle/);
    expect(expectCliError(() => checkFlowFlags({ dryRun: true, curl: true })).message).toMatch(/--dry-run and --curl/);
    expect(expectCliError(() => checkFlowFlags({ curl: true, timeout: 10 })).message).toMatch(/--curl.*--timeout/);
    expect(expectCliError(() => checkFlowFlags({ dryRun: true, insecure: true })).message).toMatch(
      /--dry-run.*--insecure/,
    );
    expect(expectCliError(() => checkFlowFlags({ curl: true, ca: 'ca.pem' })).message).toMatch(/--curl.*--ca/);
    expect(() => checkFlowFlags({ insecure: true, ca: 'ca.pem', timeout: 10 })).not.toThrow();
    expect(() => checkFlowFlags({ shuffle: true, seed: 3, dryRun: true })).not.toThrow();
  });
});

describe('timer limits', () => {
  it('a --timeout past 2^31-1 ms is refused with the maximum; the maximum itself is fine', () => {
    const err = expectCliError(() => timeoutFlag(3_000_000_000, 10_000));
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('--timeout can be at most 2147483647 ms (about 24.8 days');
    expect(timeoutFlag(2_147_483_647, 10_000)).toBe(2_147_483_647);
    expect(timeoutFlag(undefined, 10_000)).toBe(10_000);
  });

  it('retry-sim refuses a --speed that stretches a wait past the timer limit, naming it', () => {
    const err = expectCliError(() => planRetrySim({ speed: 0.001 }));
    expect(err.message).toBe(
      '--speed makes the 1h wait 41.6 days long; the longest wait is 2147483647 ms (about 24.8 days)',
    );
    expect(err.hint).toBe('use --speed 0.002 or more');
    const both = expectCliError(() => planRetrySim({ speed: 0.01, schedule: '1s,24h' }));
    expect(both.message).toMatch(/^--schedule and --speed make the 24h wait 100 days long/);
    expect(planRetrySim({ speed: 0.002 }).speed).toBe(0.002);
    expect(planRetrySim({ speed: 0.5, schedule: '24h' }).schedule).toEqual([86_400_000]);
  });
});
