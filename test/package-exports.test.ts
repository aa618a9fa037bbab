// The published entry points (package.json "exports") resolve from the built dist/ and expose the
// documented API, as an application importing the package by name would see it.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const script = `
const root = await import('sgx-quote-helper');
const client = await import('sgx-quote-helper/client');
const verify = await import('sgx-quote-helper/verify');
const pcs = await import('sgx-quote-helper/pcs');
const sgx = await import('sgx-quote-helper/sgx');
const aesm = await import('sgx-quote-helper/aesm');
const sim = await import('sgx-quote-helper/providers/sim');
console.log(JSON.stringify({
  root: [typeof root.AesmClient, typeof root.createVerifier, typeof root.parseQuote, root.VERSION],
  client: typeof client.AesmClient, verify: typeof verify.createVerifier, pcs: typeof pcs.createPcsClient,
  sgx: typeof sgx.parseQuote, aesm: typeof aesm.decodeRequest, sim: typeof sim.SimPlatform,
}));
`;

describe('package exports', () => {
  it('every sub-path resolves from dist/ by package name', () => {
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
    expect(out.root.slice(0, 3)).toEqual(['function', 'function', 'function']);
    expect(out.root[3]).toMatch(/^\d+\.\d+\.\d+/);
    for (const k of ['client', 'verify', 'pcs', 'sgx', 'aesm', 'sim']) expect(out[k], k).toBe('function');
  });
});
