import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

describe('demo', () => {
  it('runs the whole story against its own receiver and exits 0', async () => {
    const t0 = Date.now();
    const r = await runCli(['demo'], { timeoutMs: 20_000 });
    expect(r.code).toBe(0);
    // A functional bound, not a benchmark: the demo must not wait on timeouts.
    expect(Date.now() - t0).toBeLessThan(15_000);
    const out = r.stdout;
    expect(out).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+\/webhooks\/facesign/);
    for (const type of ['created', 'started', 'verified', 'failed', 'cancelled', 'expired']) {
      expect(out).toMatch(new RegExp(`✔ session\\.${type} evt_\\w+ → 200 "OK"`));
    }
    expect(out).toMatch(/\[signature invalid\] → 400 "Invalid signature/);
    expect(out).toMatch(/→ 200 "Already processed"/);
    expect(out).toMatch(/12 received: 10 accepted, 1 duplicate, 1 rejected/);
    expect(out).toMatch(/Next, try:\n {2}facesign-webhooks listen/);
    // retry-sim at 3600×: three injected 500s on the documented offsets, then delivered on attempt 4.
    const retry = out.split('\n5. ')[1]!.split('\n6. ')[0]!;
    expect(retry.match(/✘ [123] +\+(0s|5s|35s) .* 500 /g)).toHaveLength(3);
    expect(retry).toMatch(/✔ 4 +\+2m35s .* 200 "OK"/);
    expect(retry).toContain('all four attempts carried the identical body, signature and event id');
    // verify: a real capture is valid; its re-serialized body is diagnosed, not just rejected.
    const verify = out.split('\n7. ')[1]!.split('Next, try:')[0]!;
    expect(verify).toMatch(/✔ valid +000001-\S+\.json/);
    expect(verify).toMatch(/✘ invalid +the same body, re-serialized/);
    expect(verify).toMatch(/diagnosis: the JSON was re-serialized after signing/);
    expect(out).not.toMatch(/did not go as expected/);
    // The receiver's view lists the flow's three events under one session id.
    const arrived = out.split('\n6. ')[1]!.split('\n7. ')[0]!;
    const sessions = arrived.match(/vs_\w+/g) ?? [];
    const counts = new Map<string, number>();
    for (const s of sessions) counts.set(s, (counts.get(s) ?? 0) + 1);
    expect([...counts.values()].sort()).toEqual([1, 1, 1, 1, 1, 1, 1, 2, 3]);
    expect(r.stderr).toBe('');
  });

  it('has help with an example', async () => {
    const r = await runCli(['demo', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('$ facesign-webhooks demo');
  });
});
