import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../sim/helpers.js';
import { TESTDATA as TD } from '../support/testdata.js';

// `verify` on hostile inputs: every input gets its own result, nothing blocks on a FIFO or a device.
const BASE = ['--collateral-bundle', `${TD}/dcap-qvl/sgx_quote_collateral.json`, '--at', '2025-06-19T11:56:00Z'];
const QUOTE = readFileSync(`${TD}/dcap-qvl/sgx_quote`);
const tmp = tempDir('sqh-verify-inputs-');
afterAll(() => tmp.cleanup());

function cli(args: string[], input?: Buffer) {
  // The timeout only turns a hang into a failed assertion; a correct run takes a second or two.
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'verify', ...args], { encoding: 'utf8', timeout: 20_000, input });
}

type Out = { file: string; accepted: boolean; reason?: string; inputError?: string; message?: string; trailingDataLength?: number };

describe('verify CLI inputs', () => {
  it('a directory with an empty, an undecodable and an oversized file still verifies the good quote', () => {
    const dir = join(tmp.dir, 'batch');
    mkdirSync(dir);
    copyFileSync(`${TD}/dcap-qvl/sgx_quote`, join(dir, 'b-good.bin'));
    writeFileSync(join(dir, 'a-empty.bin'), '');
    writeFileSync(join(dir, 'c-garbage.bin'), 'this is not hex, nor base64!');
    writeFileSync(join(dir, 'd-huge.bin'), Buffer.alloc(1024 * 1024 + 1, 0xab));
    const r = cli([dir, ...BASE, '--json']);
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(2); // bad input among them
    const out = JSON.parse(r.stdout) as Out[];
    expect(out.map((o) => o.file.slice(dir.length + 1))).toEqual(['a-empty.bin', 'b-good.bin', 'c-garbage.bin', 'd-huge.bin']);
    expect(out[0]).toMatchObject({ accepted: false, reason: 'QUOTE_FORMAT' });
    expect(out[0].inputError).toMatch(/input is empty/);
    expect(out[1]).toMatchObject({ accepted: true });
    expect(out[1].inputError).toBeUndefined();
    expect(out[2].inputError).toMatch(/neither hex nor base64/);
    expect(out[3].inputError).toMatch(/larger than 1048576 bytes/);
  });

  it('/dev/zero and a FIFO are refused at once, the other input verified; - reads stdin', () => {
    const fifo = join(tmp.dir, 'quote.fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const r = cli(['/dev/zero', fifo, '-', ...BASE], QUOTE);
    expect(r.error).toBeUndefined(); // no timeout: nothing blocked
    expect(r.status).toBe(2);
    expect(r.stdout).toMatch(/\/dev\/zero: REJECTED — not verified: a device, not read: give a quote file, a directory of them, or - for stdin/);
    expect(r.stdout).toContain(`${fifo}: REJECTED — not verified: a FIFO, not read`);
    expect(r.stdout).toMatch(/^-: ACCEPTED/m);
  });

  it('non-zero trailing data is rejected by default and reported; --allow-trailing-data accepts it', () => {
    const f = join(tmp.dir, 'two-quotes.bin');
    writeFileSync(f, Buffer.concat([QUOTE, QUOTE]));
    const strict = cli([f, ...BASE]);
    expect(strict.status).toBe(1);
    expect(strict.stdout).toContain(`trailing data: ${QUOTE.length} bytes after the quote (NOT all zero)`);
    expect(strict.stdout).toMatch(/policy: TRAILING_DATA/);
    const lax = cli([f, ...BASE, '--allow-trailing-data', '--json']);
    expect(lax.status).toBe(0);
    expect((JSON.parse(lax.stdout) as Out).trailingDataLength).toBe(QUOTE.length);
  });
});
