// The one table of `serve` settings (src/daemon/settings.ts) against what users meet: `serve --help`,
// start-up validation (by flag, env var and config key) and the CLI's exit code. The docs side is
// test/docs/generated-docs.test.ts.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { register } from '../../src/cli/serve.js';
import { DaemonError, DEFAULTS, resolveConfig, type RawConfig } from '../../src/daemon/index.js';
import { SERVE_CLI_ONLY, SERVE_SETTINGS as TABLE, describeAllowed, describeDefault, formatDuration, formatSize, parseSettingValue, type Setting } from '../../src/daemon/settings.js';
import { removeDir, tempDir } from './helpers.js';

/** Typed as plain Settings, so optional fields can be read on every row. */
const SERVE_SETTINGS: readonly Setting[] = TABLE;
const REPO = path.resolve(import.meta.dirname, '../..');
const squash = (s: string): string => s.replace(/\s+/g, ' ');

/** Values each type must refuse, and the table's bounds just outside the range. */
function invalidValues(x: Setting): string[] {
  switch (x.type) {
    case 'enum':
      return ['no-such-value'];
    case 'duration':
      return ['soon', formatDuration((x.max as number) + 1000), ...(x.min! > 0 ? [`${x.min! - 1}ms`] : [])];
    case 'size':
      return ['big', String((x.max as number) + 1), String((x.min as number) - 1)];
    case 'integer':
      return ['many', String((x.max as number) + 1), String((x.min as number) - 1)];
    case 'mode':
      return ['999', 'rw-'];
    case 'listen':
      return ['localhost', '127.0.0.1:70000'];
    case 'boolean':
      return ['maybe'];
    case 'group':
    case 'path':
      return [];
  }
}

/** The table's own bounds are accepted (the range in the docs is the range that is enforced). */
function boundaryValues(x: Setting): string[] {
  if (x.type === 'duration') return [formatDuration(x.min!), formatDuration(x.max!)];
  if (x.type === 'size') return [formatSize(x.min!), formatSize(x.max!)];
  if (x.type === 'integer') return [String(x.min), String(x.max)];
  if (x.type === 'enum') return [...x.values!];
  return [];
}

function configError(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(DaemonError);
    expect((e as DaemonError).code).toBe('CONFIG_INVALID');
    return (e as Error).message;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('the serve settings table', () => {
  it('has one flag, env var and config key per setting, each SQH_-prefixed env var unique', () => {
    const all: Setting[] = [...SERVE_SETTINGS, ...SERVE_CLI_ONLY];
    expect(new Set(all.map((x) => x.flag)).size).toBe(all.length);
    expect(new Set(all.map((x) => x.key)).size).toBe(all.length);
    const envs = all.map((x) => x.env).filter(Boolean);
    expect(new Set(envs).size).toBe(envs.length);
    for (const x of SERVE_SETTINGS) {
      expect(x.env).toMatch(/^SQH_[A-Z0-9_]+$/);
      // The env var is the flag's name in upper snake case: nobody has to look either up.
      expect(x.env).toBe(`SQH_${x.flag.slice(2).toUpperCase().replace(/-/g, '_')}`);
      expect(x.description.length).toBeGreaterThan(10);
      if (x.type === 'enum') expect(x.values?.length).toBeGreaterThan(1);
      if (['duration', 'size', 'integer'].includes(x.type)) expect(x.min).toBeLessThanOrEqual(x.max!);
    }
  });

  it('is where the defaults come from: resolveConfig with nothing given uses each table default, parsed', () => {
    const c = resolveConfig({ env: {} });
    const parsed = (key: string) => {
      const x = SERVE_SETTINGS.find((s) => s.key === key)!;
      return parseSettingValue(x, x.default!);
    };
    expect(c.provider).toBe(parsed('provider'));
    expect(c.socketPath).toBe(parsed('socket'));
    expect(c.opsListen).toEqual(parsed('opsListen'));
    expect(c.socketMode).toBe(parsed('socketMode'));
    expect(c.drainTimeoutMs).toBe(parsed('drainTimeout'));
    expect(c.maxConnections).toBe(parsed('maxConnections'));
    expect(c.requestTimeoutMs).toBe(parsed('requestTimeout'));
    expect(c.firstByteTimeoutMs).toBe(parsed('firstByteTimeout'));
    expect(c.providerTimeoutMs).toBe(parsed('providerTimeout'));
    expect(c.maxRequestSize).toBe(parsed('maxRequestSize'));
    expect(c.logLevel).toBe(parsed('logLevel'));
    expect(c.onReplaced).toBe(parsed('onReplaced'));
    expect(c.takeOver).toBe(parsed('takeOver'));
    expect(c.dcap.warmupTimeoutMs).toBe(parsed('dcapWarmupTimeout'));
    expect(DEFAULTS.providerTimeoutMs).toBeLessThan(15_000);
  });

  it('rejects every invalid value by the name the user gave it (flag, env var, config key), with the value and what is allowed', () => {
    const dir = tempDir();
    try {
      let checked = 0;
      for (const x of SERVE_SETTINGS) {
        for (const bad of invalidValues(x)) {
          const allowed = describeAllowed(x);
          const byFlag = configError(() => resolveConfig({ env: {}, flags: { [x.key]: bad } as RawConfig }));
          expect(byFlag).toContain(`${x.flag}=${JSON.stringify(bad)}`);
          expect(byFlag).toContain(`allowed: ${allowed}`);
          const byEnv = configError(() => resolveConfig({ env: { [x.env]: bad } }));
          expect(byEnv).toContain(`${x.env}=${JSON.stringify(bad)}`);
          expect(byEnv).toContain(`allowed: ${allowed}`);
          const file = path.join(dir, 'serve.yaml');
          writeFileSync(file, `${x.key}: ${JSON.stringify(bad)}\n`);
          const byFile = configError(() => resolveConfig({ env: {}, configFile: file }));
          expect(byFile).toContain(`${x.key}=${JSON.stringify(bad)} (config file ${file})`);
          expect(byFile).toContain(`allowed: ${allowed}`);
          checked++;
        }
        for (const ok of boundaryValues(x)) {
          expect(() => resolveConfig({ env: {}, flags: { [x.key]: ok, ...(x.key === 'provider' && ok === 'upstream' ? { upstream: '/tmp/up.sock' } : {}) } as RawConfig }), `${x.flag} ${ok}`).not.toThrow();
        }
      }
      expect(checked).toBeGreaterThan(25);
    } finally {
      removeDir(dir);
    }
  });

  it('declares every serve option from the table, and --help shows each with its env var, default and allowed values', () => {
    const program = new Command();
    register(program);
    const serve = program.commands.find((c) => c.name() === 'serve')!;
    const declared = serve.options.map((o) => o.long);
    expect(declared.sort()).toEqual([...SERVE_SETTINGS, ...SERVE_CLI_ONLY].map((x) => x.flag).sort());
    const help = squash(serve.helpInformation());
    for (const x of [...SERVE_SETTINGS, ...SERVE_CLI_ONLY]) {
      expect(help).toContain(x.arg ? `${x.flag} ${x.arg}` : x.flag);
      if (x.env) expect(help).toContain(`env ${x.env}`);
      expect(help).toContain(squash(`default ${describeDefault(x)}`));
      if (x.type === 'enum') expect(help).toContain(describeAllowed(x));
    }
    // No commander defaults: they would hide env and config-file values (precedence is resolveConfig's).
    for (const o of serve.options) expect(o.defaultValue).toBeUndefined();
  });

  it('the real CLI: `serve --help` exits 0 and lists every env var; an invalid value exits 2 naming it', () => {
    const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: REPO, encoding: 'utf8', env: { ...process.env, ...env } });
    const help = cli(['serve', '--help']);
    expect(help.status).toBe(0);
    for (const x of SERVE_SETTINGS) expect(squash(help.stdout)).toContain(`env ${x.env}`);

    const dir = tempDir();
    try {
      const sock = path.join(dir, 'aesm.socket');
      const byEnv = cli(['serve', '--socket', sock, '--ops-listen', 'off'], { SQH_DRAIN_TIMEOUT: 'soon', SQH_MAX_CONNECTIONS: '0' });
      expect(byEnv.status).toBe(2);
      expect(byEnv.stderr).toContain('SQH_DRAIN_TIMEOUT="soon"');
      expect(byEnv.stderr).toContain(describeAllowed(SERVE_SETTINGS.find((x) => x.key === 'drainTimeout')!));
      expect(byEnv.stderr).toContain('SQH_MAX_CONNECTIONS="0"');
      expect(byEnv.stderr).toContain('a whole number from 1 to 65535');
      expect(byEnv.stderr).not.toMatch(/\n\s+at /);
      const byFlag = cli(['serve', '--socket', sock, '--ops-listen', 'off', '--log-level', 'loud']);
      expect(byFlag.status).toBe(2);
      expect(byFlag.stderr).toContain('--log-level="loud"');
      expect(byFlag.stderr).toContain('one of fatal, error, warn, info, debug, trace, silent');
    } finally {
      removeDir(dir);
    }
  });
});
