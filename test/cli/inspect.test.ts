import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CliError } from '../../src/cli/cli-error.js';
import { decodeInput, inspectBytes } from '../../src/cli/inspect.js';
import { QUOTE_FILES } from '../sgx/testdata.js';
import { TESTDATA } from '../support/testdata.js';

// The CLI runs from the sources through tsx, as a user would run it; each spawn costs ~1 s, so the
// cases run concurrently and one invocation inspects all testdata quotes at once.
// Every real quote the sgx parser tests use (relative paths: the CLI prints them as given).
const QUOTES = QUOTE_FILES.map((f) => join(TESTDATA, f));

function cli(args: string[], stdin?: Buffer | string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

const noStack = (s: string) => expect(s).not.toMatch(/\n\s+at /);

interface View {
  file: string;
  inputEncoding: string;
  size: number;
  header: { version: number; teeType: string; qeSvn: number; pceSvn: number };
  body: Record<string, unknown> & { type: string };
  certificationData: {
    type: number;
    certificates?: { subject: string; notBefore: string; notAfter: string }[];
    pckExtension?: { fmspc: string; sgxType: number; tcb: { pceSvn: number } };
  };
  trailing: { length: number };
}

describe('inspect', () => {
  it.concurrent('prints every testdata quote as text', async () => {
    const r = await cli(['inspect', ...QUOTES]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const sections = r.stdout.split(/^Quote /m).slice(1);
    expect(sections).toHaveLength(QUOTES.length);
    sections.forEach((s, i) => expect(s.startsWith(QUOTES[i])).toBe(true));
    const sgx = sections[0];
    expect(sgx).toMatch(/QE SVN:\s+10\n/);
    expect(sgx).toMatch(/PCE SVN:\s+15\n/);
    expect(sgx).toMatch(/MRENCLAVE:\s+[0-9a-f]{64}\n/);
    expect(sgx).toMatch(/MRSIGNER:\s+[0-9a-f]{64}\n/);
    expect(sgx).toMatch(/ISV prod id:\s+0\n/);
    expect(sgx).toMatch(/attributes:\s+flags 0x0+5 \[INITTED \| MODE64BIT\]\s+\(not debug\)/);
    expect(sgx).toMatch(/report data \(text\):\s+"Hello, world!"/);
    expect(sgx).toMatch(/type:\s+5 \(PCK_CERT_CHAIN\)/);
    expect(sgx).toMatch(/subject:\s+CN=Intel SGX PCK Certificate/);
    expect(sgx).toMatch(/valid:\s+2023-09-20T21:53:43.000Z \.\. 2030-09-20T21:53:43.000Z/);
    expect(sgx).toMatch(/FMSPC:\s+00A067110000/);
    const tdx = sections[1];
    expect(tdx).toMatch(/TD report \(TDX 1\.0\)/);
    expect(tdx).toMatch(/MRTD:\s+[0-9a-f]{96}/);
    expect(tdx).toMatch(/RTMR3:\s+[0-9a-f]{96}/);
    expect(tdx).toMatch(/TD attributes:\s+0x/);
    expect(tdx).toMatch(/70 bytes \(all zero\)/);
    expect(tdx).toMatch(/FMSPC:\s+B0C06F000000/);
    expect(sections[2]).toMatch(/TD report \(TDX 1\.5\)/);
    expect(sections[2]).toMatch(/MRSERVICETD:/);
    expect(sections[6]).toMatch(/type:\s+1 \(PPID_CLEARTEXT\)/);
  });

  it.concurrent('prints every testdata quote as JSON', async () => {
    const r = await cli(['inspect', '--json', ...QUOTES]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const views = JSON.parse(r.stdout) as View[];
    expect(views).toHaveLength(QUOTES.length);
    views.forEach((v, i) => {
      expect(v.file).toBe(QUOTES[i]);
      expect(v.size).toBe(readFileSync(QUOTES[i]).length);
      expect(v.inputEncoding).toBe('binary');
    });
    const [sgx, tdx4, tdx5, mc, gv4] = views;
    expect(sgx.header).toMatchObject({ version: 3, teeType: 'SGX', qeSvn: 10, pceSvn: 15 });
    expect(sgx.body.type).toBe('sgx');
    expect(sgx.body.reportDataText).toBe('Hello, world!');
    expect((sgx.body.attributes as { debug: boolean }).debug).toBe(false);
    expect(sgx.certificationData.type).toBe(5);
    expect(sgx.certificationData.pckExtension).toMatchObject({ fmspc: '00A067110000', sgxType: 0, tcb: { pceSvn: 13 } });
    expect(sgx.certificationData.certificates).toHaveLength(3);
    expect(tdx4.body.type).toBe('td10');
    expect(tdx4.body.rtMr).toHaveLength(4);
    expect(tdx4.trailing.length).toBe(70);
    expect(tdx5.body.type).toBe('td15');
    expect(tdx5.header.version).toBe(5);
    expect(mc.certificationData.pckExtension?.fmspc).toBe('00906ED50000');
    expect(gv4.trailing.length).toBe(39);
    expect(views[7].certificationData.certificates?.[0].subject).toContain('Intel SGX PCK Certificate');
  });

  it.concurrent('reads binary and base64 from stdin (one object for one input)', async () => {
    const raw = readFileSync(QUOTES[0]);
    const [bin, b64] = await Promise.all([
      cli(['inspect', '-', '--json'], raw),
      cli(['inspect', '-', '--json'], raw.toString('base64')),
    ]);
    for (const [r, enc] of [[bin, 'binary'], [b64, 'base64']] as const) {
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const v = JSON.parse(r.stdout) as View;
      expect(v.file).toBe('stdin');
      expect(v.inputEncoding).toBe(enc);
      expect(v.size).toBe(4600);
      expect(v.body.reportDataText).toBe('Hello, world!');
    }
  });

  it.concurrent('bad files: one line naming field and offset, exit 2, no stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inspect-'));
    const truncated = join(dir, 'truncated.bin');
    writeFileSync(truncated, readFileSync(QUOTES[0]).subarray(0, 1000));
    const [t, missing] = await Promise.all([cli(['inspect', truncated]), cli(['inspect', join(dir, 'nope.bin')])]);
    for (const r of [t, missing]) {
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      noStack(r.stderr);
    }
    expect(t.stderr).toContain('not a valid quote: quote.signatureDataLength at offset 432');
    expect(t.stderr).toContain('TRUNCATED');
    expect(missing.stderr).toMatch(/cannot read .*nope\.bin: no such file/);
  });
});

// The same code path in-process (no spawn): input detection and error lines.
describe('inspect input handling', () => {
  const raw = readFileSync(QUOTES[0]);
  const errorOf = (fn: () => unknown): CliError => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(CliError);
      return e as CliError;
    }
    throw new Error('expected a CliError');
  };

  it('detects hex (with whitespace and 0x prefix), base64 and base64url', () => {
    expect(decodeInput(Buffer.from(raw.toString('hex').replace(/.{64}/g, '$&\n')), 'f').encoding).toBe('hex');
    expect(decodeInput(Buffer.from(`0x${raw.toString('hex')}`), 'f').bytes.equals(raw)).toBe(true);
    expect(decodeInput(Buffer.from(raw.toString('base64')), 'f').bytes.equals(raw)).toBe(true);
    expect(decodeInput(Buffer.from(raw.toString('base64url')), 'f').bytes.equals(raw)).toBe(true);
    expect(decodeInput(raw, 'f').encoding).toBe('binary');
    expect(inspectBytes(Buffer.from(raw.toString('hex')), 'q.hex').inputEncoding).toBe('hex');
  });

  it('names what is wrong', () => {
    expect(errorOf(() => decodeInput(Buffer.alloc(0), 'stdin')).message).toMatch(/stdin: input is empty/);
    expect(errorOf(() => decodeInput(Buffer.from('abc'), 'f')).message).toMatch(/odd number of digits/);
    expect(errorOf(() => decodeInput(Buffer.from('not a quote!'), 'f')).message).toMatch(/neither hex nor base64/);
    const v9 = Buffer.from(raw);
    v9.writeUInt16LE(9, 0);
    const e = errorOf(() => inspectBytes(v9, 'v9.bin'));
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe('v9.bin: not a valid quote: quote.header.version at offset 0: quote version 9 is not supported (3, 4 or 5) (UNSUPPORTED_VERSION)');
    const hexErr = errorOf(() => inspectBytes(Buffer.from(raw.subarray(0, 500).toString('hex')), 'q.hex'));
    expect(hexErr.message).toMatch(/offset 432.*\(offset in the hex-decoded bytes\)$/);
  });
});
