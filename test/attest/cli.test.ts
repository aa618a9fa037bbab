// `sgx-quote-helper attest serve` as a real process on loopback HTTPS, attested by Microsoft's own client
// (@azure/attestation 1.0.0) with a simulated quote and with real quotes from the fixtures (their published
// collateral, evaluated at a fixed time), then `attest token` verifying what it issued.
import { AttestationClient } from '@azure/attestation';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collateralToBundleJson } from '../../src/pcs/index.js';
import { parseQuote } from '../../src/sgx/index.js';
import { TESTDATA } from '../support/testdata.js';
import { APP, decodePart, raw, simQuoteFor, simWorld, type SimWorld } from './helpers.js';

const ENTRY = 'src/cli/main.ts';
let w: SimWorld;
const children: ChildProcess[] = [];

function run(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', ENTRY, ...args], { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

/** Start `attest serve` and wait for its start-up line; returns the issuer URL it printed and all log lines. */
async function serve(args: string[]): Promise<{ url: string; lines: Array<Record<string, unknown>>; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, 'attest', 'serve', '--listen', '127.0.0.1:0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const lines: Array<Record<string, unknown>> = [];
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`attest serve did not start: ${out}${err}`)), 45_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      let i;
      while ((i = out.indexOf('\n')) >= 0) {
        const line = JSON.parse(out.slice(0, i)) as Record<string, unknown>;
        out = out.slice(i + 1);
        lines.push(line);
        if (line.msg === 'attestation service listening') {
          clearTimeout(timer);
          resolve(line.url as string);
        }
      }
    });
    child.on('exit', (code) => reject(new Error(`attest serve exited ${code}: ${err}`)));
  });
  return { url, lines, child };
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

beforeAll(async () => {
  w = await simWorld('sqh-attest-cli-');
  writeFileSync(join(w.dir, 'sim-root.pem'), w.rootPem);
  writeFileSync(join(w.dir, 'sim-collateral.json'), JSON.stringify(collateralToBundleJson(w.collateral)));
  const real = ['dcap-qvl/sgx_quote_collateral.json', 'dcap-qvl/tdx_quote_collateral.json'].map((f) => JSON.parse(readFileSync(join(TESTDATA, f), 'utf8')));
  writeFileSync(join(w.dir, 'real-collateral.json'), JSON.stringify(real));
}, 60_000);
afterAll(async () => {
  await Promise.all(children.map(stop));
  w?.cleanup();
});

describe('attest serve (process) with a simulated platform', () => {
  let url: string;
  let lines: Array<Record<string, unknown>>;
  let child: ChildProcess;
  const client = () => new AttestationClient(url, { tlsOptions: { ca: w.tlsCertPem } } as never);

  beforeAll(async () => {
    ({ url, lines, child } = await serve([
      '--state-dir', join(w.dir, 'state'), '--tls-cert', w.tlsCert, '--tls-key', w.tlsKey,
      '--trust-root', join(w.dir, 'sim-root.pem'), '--collateral-bundle', join(w.dir, 'sim-collateral.json'),
    ]));
  }, 60_000);

  it('prints its base URL (the issuer) and warns that SIMULATED roots are trusted', () => {
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(lines.find((l) => l.msg === 'attestation service listening')).toMatchObject({ issuer: url, simulatedRootsTrusted: true, alg: 'RS256' });
    expect(lines.some((l) => l.level === 40 && /SIMULATED roots are trusted/.test(String(l.msg)))).toBe(true);
  });

  it("Microsoft's client attests a simulated quote; the keys file is 0600; attest token verifies only with --allow-simulated", async () => {
    const runtime = Buffer.from('enclave key material');
    const res = await client().attestSgxEnclave(simQuoteFor(w.platform, runtime), { runTimeData: runtime });
    expect(res.body).toMatchObject({ mrEnclave: APP.mrEnclave.toString('hex'), mrSigner: APP.mrSigner.toString('hex'), productId: 7, svn: 3, issuer: url });
    expect(Buffer.from(res.body.enclaveHeldData!).equals(runtime)).toBe(true);
    const signers = await client().getAttestationSigners();
    expect(signers.map((s) => s.keyId)).toEqual([decodePart(res.token.serialize(), 0).kid]);
    expect((await client().getOpenIdMetadata()).issuer).toBe(url);

    for (const f of readdirSync(join(w.dir, 'state'))) {
      if (f.endsWith('.key.pem') || f === 'signing-keys.json') expect(statSync(join(w.dir, 'state', f)).mode & 0o777).toBe(0o600);
    }
    expect(statSync(join(w.dir, 'state')).mode & 0o777).toBe(0o700);

    const tokenFile = join(w.dir, 'sim.token');
    writeFileSync(tokenFile, JSON.stringify({ token: res.token.serialize() }));
    const caFile = w.tlsCert;
    const strict = await run('attest', 'token', tokenFile, '--issuer', url, '--ca', caFile);
    expect(strict.status).toBe(1);
    expect(strict.stdout).toMatch(/^NOT VERIFIED: SIMULATED/);
    const ok = await run('attest', 'token', res.token.serialize(), '--issuer', url, '--ca', caFile, '--allow-simulated', '--mrenclave', APP.mrEnclave.toString('hex'), '--json');
    expect(ok.status).toBe(0);
    const out = JSON.parse(ok.stdout);
    expect(out).toMatchObject({ verified: true, claims: { 'x-sqh-simulated': true, 'x-ms-sgx-mrenclave': APP.mrEnclave.toString('hex') } });
    const wrongIssuer = await run('attest', 'token', res.token.serialize(), '--issuer', `${url}/other`, '--ca', caFile, '--allow-simulated');
    expect(wrongIssuer.status).toBe(1);
  }, 60_000);

  it('attest rotate-key + SIGHUP: the new key signs, the old one stays published', async () => {
    const before = (await raw(`${url}/certs`, { ca: w.tlsCertPem })).json.keys.map((k: { kid: string }) => k.kid);
    const r = await run('attest', 'rotate-key', '--state-dir', join(w.dir, 'state'), '--issuer', url);
    expect(r.status).toBe(0);
    const kid = /new signing key (\S+);/.exec(r.stdout)![1];
    child.kill('SIGHUP');
    let keys: string[] = [];
    for (let i = 0; i < 100 && keys[0] !== kid; i++) {
      await new Promise((res) => setTimeout(res, 100));
      keys = (await raw(`${url}/certs`, { ca: w.tlsCertPem })).json.keys.map((k: { kid: string }) => k.kid);
    }
    expect(keys).toEqual([kid, ...before]);
    const res = await client().attestSgxEnclave(simQuoteFor(w.platform, undefined));
    expect(decodePart(res.token.serialize(), 0).kid).toBe(kid);
  }, 60_000);

  it('exits 0 on SIGTERM', async () => {
    expect(await stop(child)).toBe(0);
  });
});

describe('attest serve (process) with real quotes and their published collateral', () => {
  it("Microsoft's client attests the dcap-qvl SGX quote (Intel root only); TdxVm gives the TD claims", async () => {
    const { url, child } = await serve([
      '--state-dir', join(w.dir, 'real-state'), '--tls-cert', w.tlsCert, '--tls-key', w.tlsKey, '--key-alg', 'ES256',
      '--collateral-bundle', join(w.dir, 'real-collateral.json'), '--collateral-at', '2025-06-19T12:00:00Z',
    ]);
    const quote = readFileSync(join(TESTDATA, 'dcap-qvl/sgx_quote'));
    const q = parseQuote(quote);
    if (q.body.type !== 'sgx') throw new Error('fixture is not SGX');
    const c = new AttestationClient(url, { tlsOptions: { ca: w.tlsCertPem } } as never);
    const res = await c.attestSgxEnclave(quote);
    expect(res.body.mrEnclave).toBe(q.body.report.mrEnclave.toString('hex'));
    expect(res.body.mrSigner).toBe(q.body.report.mrSigner.toString('hex'));
    expect(res.body.productId).toBe(q.body.report.isvProdId);
    expect(res.body.svn).toBe(q.body.report.isvSvn);
    const claims = decodePart(res.token.serialize(), 1);
    expect(decodePart(res.token.serialize(), 0).alg).toBe('ES256');
    expect((await c.getOpenIdMetadata()).id_token_signing_alg_values_supported).toEqual(['ES256']);
    expect(claims).toMatchObject({ 'x-sqh-simulated': false, 'x-sqh-tcb-status': 'ConfigurationAndSWHardeningNeeded', 'x-sqh-advisory-ids': ['INTEL-SA-00289', 'INTEL-SA-00615'] });
    expect(claims['x-sqh-platform']).toBeUndefined();
    // a real token: our strict verifier accepts it without --allow-simulated (it is not a debug enclave, or the flag says so)
    const debug = claims['x-ms-sgx-is-debuggable'] === true;
    const v = await run('attest', 'token', res.token.serialize(), '--issuer', url, '--ca', w.tlsCert, ...(debug ? ['--allow-debug'] : []));
    expect(v.status).toBe(0);
    expect(v.stdout).toMatch(/^VERIFIED: signed by/);

    const tdx = readFileSync(join(TESTDATA, 'dcap-qvl/tdx_quote'));
    const t = await raw(`${url}/attest/TdxVm?api-version=2025-06-01`, { method: 'POST', body: JSON.stringify({ quote: tdx.toString('base64') }), ca: w.tlsCertPem });
    expect(t.status).toBe(200);
    const tq = parseQuote(tdx);
    if (tq.body.type === 'sgx') throw new Error('fixture is not TDX');
    expect(decodePart(t.json.token, 1)).toMatchObject({
      'x-ms-attestation-type': 'tdxvm', 'x-ms-ver': '1.0', attester_tcb_status: 'UpToDate', tdx_mrtd: tq.body.report.mrTd.toString('hex'),
      tdx_report_data: tq.body.report.reportData.toString('hex'), 'x-sqh-simulated': false,
    });
    // an SGX quote at the TDX endpoint and the reverse are refused
    const wrong = await raw(`${url}/attest/SgxEnclave?api-version=2025-06-01`, { method: 'POST', body: JSON.stringify({ quote: tdx.toString('base64') }), ca: w.tlsCertPem });
    expect(wrong.json.error.code).toBe('InvalidQuote');
    expect(await stop(child)).toBe(0);
  }, 90_000);
});

describe('attest command line errors', () => {
  it('usage errors exit 2 with one line and no stack trace', async () => {
    const rs = await Promise.all([
      run('attest', 'serve', '--listen', '127.0.0.1:0', '--state-dir', w.dir, '--collateral-bundle', join(w.dir, 'sim-collateral.json')),
      run('attest', 'serve', '--listen', '0.0.0.0:0', '--insecure-http', '--public-url', 'http://attest.test:8080', '--state-dir', join(w.dir, 'x'), '--collateral-bundle', join(w.dir, 'sim-collateral.json')),
      run('attest', 'serve', '--listen', '127.0.0.1:0', '--insecure-http', '--state-dir', join(w.dir, 'x'), '--collateral-bundle', join(w.dir, 'sim-collateral.json'), '--policy', join(w.dir, 'sim-collateral.json')),
      run('attest', 'serve', '--listen', '127.0.0.1:0', '--insecure-http', '--state-dir', join(w.dir, 'x')),
      run('attest', 'token', 'nope', '--issuer', 'https://x'),
      run('attest', 'serve', '--listen', '0.0.0.0:8443', '--tls-cert', w.tlsCert, '--tls-key', w.tlsKey, '--state-dir', join(w.dir, 'x'), '--collateral-bundle', join(w.dir, 'sim-collateral.json')),
    ]);
    expect(rs.map((r) => r.status)).toEqual([2, 2, 2, 2, 2, 2]);
    expect(rs[5].stderr).toMatch(/give --public-url/);
    expect(rs[0].stderr).toMatch(/--tls-cert F --tls-key F, or --insecure-http/);
    expect(rs[1].stderr).toMatch(/not a loopback address/);
    expect(rs[2].stderr).toMatch(/--policy: .*unknown field/);
    expect(rs[3].stderr).toMatch(/no collateral/);
    expect(rs[4].stderr).toMatch(/neither a token/);
    for (const r of rs) expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});

describe('attest serve limit flags (the same as collateral serve and webhook serve)', () => {
  it('bad limit or lifetime values exit 2 naming the flag', async () => {
    const base = ['attest', 'serve', '--listen', '127.0.0.1:0', '--insecure-http', '--state-dir', join(w.dir, 'x'), '--collateral-bundle', join(w.dir, 'sim-collateral.json')];
    const rs = await Promise.all([
      run(...base, '--max-body', '0'),
      run(...base, '--headers-timeout', 'soon'),
      run(...base, '--max-connections', '-1'),
      run(...base, '--token-lifetime', '0'),
    ]);
    expect(rs.map((r) => r.status)).toEqual([2, 2, 2, 2]);
    expect(rs[0].stderr).toMatch(/--max-body must be a whole number above 0, got '0'/);
    expect(rs[1].stderr).toMatch(/--headers-timeout must be seconds/);
    expect(rs[2].stderr).toMatch(/--max-connections must be a whole number/);
    expect(rs[3].stderr).toMatch(/--token-lifetime "0": .* from 1s up to 366d/);
  }, 60_000);

  it('--max-body caps the request body: a larger one gets 413 RequestTooLarge, a quote under it is attested', async () => {
    const { url, child } = await serve([
      '--insecure-http', '--max-body', '16384', '--state-dir', join(w.dir, 'state-limits'),
      '--trust-root', join(w.dir, 'sim-root.pem'), '--collateral-bundle', join(w.dir, 'sim-collateral.json'),
    ]);
    const post = (body: string) => fetch(`${url}/attest/SgxEnclave?api-version=2022-08-01`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const big = await post(JSON.stringify({ quote: 'A'.repeat(20_000) }));
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error: { code: 'RequestTooLarge' } });
    const quote = simQuoteFor(w.platform, Buffer.from('k'));
    const ok = await post(JSON.stringify({ quote: quote.toString('base64url'), runtimeData: { data: Buffer.from('k').toString('base64url'), dataType: 'Binary' } }));
    expect(ok.status).toBe(200);
    expect(await stop(child)).toBe(0);
  }, 60_000);
});
