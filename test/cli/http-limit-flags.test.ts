import { describe, expect, it } from 'vitest';
import { CliError } from '../../src/cli/cli-error.js';
import { serverLimitsFrom } from '../../src/cli/http-limit-flags.js';

describe('server limit flags (collateral serve, webhook serve)', () => {
  it('turn seconds and counts into limits, leaving unset ones to the defaults', () => {
    expect(serverLimitsFrom({})).toEqual({});
    expect(
      serverLimitsFrom({ headersTimeout: '2', requestTimeout: '1.5', idleTimeout: '60', keepAliveTimeout: '5', maxRequestsPerSocket: '0', maxConnections: '10', maxBody: '65536' }),
    ).toEqual({ headersTimeoutMs: 2000, requestTimeoutMs: 1500, idleTimeoutMs: 60_000, keepAliveTimeoutMs: 5000, maxRequestsPerSocket: 0, maxConnections: 10, bodyLimitBytes: 65536 });
  });

  it('reject bad values with the flag name and exit code 2', () => {
    for (const [o, msg] of [
      [{ maxConnections: '0' }, /--max-connections must be a whole number above 0, got '0'/],
      [{ maxBody: '1e6' }, /--max-body must be a whole number/],
      [{ requestTimeout: '-1' }, /--request-timeout must be seconds/],
      [{ headersTimeout: 'soon' }, /--headers-timeout must be seconds/],
    ] as const) {
      try {
        serverLimitsFrom(o);
        throw new Error('expected a CliError');
      } catch (e) {
        expect(e).toBeInstanceOf(CliError);
        expect((e as CliError).exitCode).toBe(2);
        expect((e as CliError).message).toMatch(msg);
      }
    }
  });
});
