import { describe, expect, it } from 'vitest';
import { CliError, EXIT_BAD_INPUT } from '../../src/cli/cli-error.js';
import { parseSecondsFlag } from '../../src/cli/durations.js';

function errorOf(fn: () => unknown): CliError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CliError) return e;
    throw e;
  }
  throw new Error('expected a CliError');
}

describe('parseSecondsFlag (every seconds-valued CLI flag)', () => {
  it('reads bare seconds and s, m, h, d', () => {
    const p = (v: string) => parseSecondsFlag(v, '--x', { example: '8h' });
    expect(p('90')).toBe(90);
    expect(p('90s')).toBe(90);
    expect(p('15m')).toBe(900);
    expect(p('8h')).toBe(28_800);
    expect(p('30d')).toBe(2_592_000);
    expect(p(' 2h ')).toBe(7200);
    expect(p('0')).toBe(0);
  });

  it('rejects other forms with the flag, the value, the units and an example, as bad input', () => {
    for (const bad of ['soon', '1.5h', '-5', '5w', '', '1 h', '1e3']) {
      const e = errorOf(() => parseSecondsFlag(bad, '--max-collateral-age', { example: '30d' }));
      expect(e.exitCode).toBe(EXIT_BAD_INPUT);
      expect(e.message).toBe(`--max-collateral-age ${JSON.stringify(bad)}: use seconds or a number with s, m, h or d (e.g. 30d)`);
    }
  });

  it('enforces bounds and names them in the largest whole unit', () => {
    const lifetime = (v: string) => parseSecondsFlag(v, '--token-lifetime', { min: 1, max: 366 * 86_400, example: '8h' });
    expect(lifetime('1')).toBe(1);
    expect(lifetime('366d')).toBe(366 * 86_400);
    for (const out of ['0', '367d', `${366 * 86_400 + 1}`]) {
      expect(errorOf(() => lifetime(out)).message).toBe(`--token-lifetime ${JSON.stringify(out)}: use seconds or a number with s, m, h or d, from 1s up to 366d (e.g. 8h)`);
    }
    expect(errorOf(() => parseSecondsFlag('2h', '--y', { max: 5400, example: '1m' })).message).toMatch(/up to 90m \(e\.g\. 1m\)$/);
    expect(errorOf(() => parseSecondsFlag('1', '--y', { min: 5, example: '1m' })).message).toMatch(/, at least 5s \(e\.g\. 1m\)$/);
  });
});
