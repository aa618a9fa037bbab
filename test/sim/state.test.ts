import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  readReportKey,
  resolveStateDir,
  SimPlatform,
  SimStateError,
  STATE_DIR_ENV,
  StateFiles,
  SYSTEM_STATE_DIR,
  userStateDir,
} from '../../src/providers/sim/index.js';
import { NOW, tempDir } from './helpers.js';

async function expectStateError(p: Promise<unknown>, code: string, file?: string): Promise<SimStateError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SimStateError);
  const e = err as SimStateError;
  expect(e.code).toBe(code);
  if (file) {
    expect(e.file).toBe(file);
    expect(e.message).toContain(file);
  }
  return e;
}

describe('state directory', () => {
  const t = tempDir();
  let original: SimPlatform;

  beforeAll(async () => {
    original = await SimPlatform.init({ stateDir: t.dir, now: NOW, tcbProfile: 'OutOfDate' });
  });
  afterAll(() => t.cleanup());

  it('writes every file, private keys and secrets with mode 0600', () => {
    for (const [key, name] of Object.entries(StateFiles)) {
      const mode = statSync(join(t.dir, name)).mode & 0o777;
      const secret = /key/i.test(key) && key !== 'pckCert';
      if (secret) expect(mode, name).toBe(0o600);
      else expect(mode & 0o077, name).toBe(0o044);
    }
  });

  it('keeps the identity across reloads (same PPID, PCK certificate, QE_ID, keys)', async () => {
    const again = await SimPlatform.load(t.dir);
    const a = original.identity();
    const b = again.identity();
    expect(b.ppid).toBe(a.ppid);
    expect(b.qeId).toBe(a.qeId);
    expect(b.fmspc).toBe(a.fmspc);
    expect(b.pckCertSerial).toBe(a.pckCertSerial);
    expect(b.pubKeyId).toBe(a.pubKeyId);
    expect(b.tcbProfile).toBe('OutOfDate');
    expect(again.pckCertPem).toBe(original.pckCertPem);
    expect(again.qeTargetInfo()).toEqual(original.qeTargetInfo());
  });

  it('marks the identity SIMULATED and serials with the SIMULATED prefix', () => {
    const id = original.identity();
    expect(id.simulated).toBe(true);
    expect(Buffer.from(id.pckCertSerial, 'hex').subarray(0, 9).toString('ascii')).toBe('SIMULATED');
    expect(readFileSync(join(t.dir, StateFiles.platform), 'utf8')).toContain('SIMULATED');
  });

  it('refuses to overwrite an existing platform without --force', async () => {
    await expectStateError(SimPlatform.init({ stateDir: t.dir, now: NOW }), 'ALREADY_INITIALIZED');
    expect((await SimPlatform.load(t.dir)).identity().ppid).toBe(original.identity().ppid);
  });

  it('reports a missing state as NOT_INITIALIZED', async () => {
    await expectStateError(SimPlatform.load(join(t.dir, 'nothing-here')), 'NOT_INITIALIZED');
  });

  it('reads only the report-key file for enclave-side use', () => {
    expect(readReportKey(t.dir).cpuSvn).toEqual(original.record.cpuSvn);
  });

  describe('damaged copies (never silently regenerated)', () => {
    function copy(): { dir: string; cleanup: () => void } {
      const c = tempDir();
      cpSync(t.dir, c.dir, { recursive: true });
      return c;
    }

    it.each(Object.entries(StateFiles))('a truncated %s gives a clear error naming the file', async (_k, name) => {
      const c = copy();
      try {
        const path = join(c.dir, name);
        const size = statSync(path).size;
        truncateSync(path, Math.floor(size / 2));
        const e = await expectStateError(SimPlatform.load(c.dir), 'CORRUPT', path);
        expect(e.message).toMatch(/truncated|damaged|not valid JSON|different platform|does not match/);
        // and the damaged file is left as it was
        expect(statSync(path).size).toBe(Math.floor(size / 2));
      } finally {
        c.cleanup();
      }
    });

    it('an interrupted init (no platform.json) is PARTIAL', async () => {
      const c = copy();
      try {
        rmSync(join(c.dir, StateFiles.platform));
        await expectStateError(SimPlatform.load(c.dir), 'PARTIAL', join(c.dir, StateFiles.platform));
        await expectStateError(SimPlatform.init({ stateDir: c.dir, now: NOW }), 'PARTIAL');
      } finally {
        c.cleanup();
      }
    });

    it('a missing key file is CORRUPT and names the file', async () => {
      const c = copy();
      try {
        rmSync(join(c.dir, StateFiles.pckKey));
        await expectStateError(SimPlatform.load(c.dir), 'CORRUPT', join(c.dir, StateFiles.pckKey));
      } finally {
        c.cleanup();
      }
    });

    it('a file from another format version is UNSUPPORTED_VERSION', async () => {
      const c = copy();
      try {
        const path = join(c.dir, StateFiles.platform);
        const obj = JSON.parse(readFileSync(path, 'utf8'));
        obj.formatVersion = 99;
        writeFileSync(path, JSON.stringify(obj));
        await expectStateError(SimPlatform.load(c.dir), 'UNSUPPORTED_VERSION', path);
      } finally {
        c.cleanup();
      }
    });

    it('a PCK certificate of another platform is detected', async () => {
      const other = tempDir();
      const c = copy();
      try {
        await SimPlatform.init({ stateDir: other.dir, now: NOW });
        for (const f of [StateFiles.pckCert, StateFiles.pckKey]) cpSync(join(other.dir, f), join(c.dir, f));
        await expectStateError(SimPlatform.load(c.dir), 'CORRUPT', join(c.dir, StateFiles.pckCert));
      } finally {
        c.cleanup();
        other.cleanup();
      }
    });

    it('--force regenerates on purpose: a new identity', async () => {
      const c = copy();
      try {
        truncateSync(join(c.dir, StateFiles.reportKey), 10);
        const fresh = await SimPlatform.init({ stateDir: c.dir, now: NOW, force: true });
        expect(fresh.identity().ppid).not.toBe(original.identity().ppid);
        expect((await SimPlatform.load(c.dir)).identity().ppid).toBe(fresh.identity().ppid);
      } finally {
        c.cleanup();
      }
    });
  });
});

describe('resolveStateDir', () => {
  it('prefers the flag, then SQH_STATE_DIR', () => {
    expect(resolveStateDir('/x/y', { [STATE_DIR_ENV]: '/a/b' })).toBe('/x/y');
    expect(resolveStateDir(undefined, { [STATE_DIR_ENV]: '/a/b' })).toBe('/a/b');
  });

  it('falls back to the system dir when writable, else the XDG state dir', () => {
    const got = resolveStateDir(undefined, { XDG_STATE_HOME: '/home/u/.state' });
    expect([SYSTEM_STATE_DIR, '/home/u/.state/sgx-quote-helper/sim']).toContain(got);
    expect(userStateDir({ XDG_STATE_HOME: '/home/u/.state' })).toBe('/home/u/.state/sgx-quote-helper/sim');
    expect(userStateDir({})).toMatch(/\.local\/state\/sgx-quote-helper\/sim$/);
  });
});
