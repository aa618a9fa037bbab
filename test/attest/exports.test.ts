// `sgx-quote-helper/attest` resolves from the built dist/ by package name (as test/package-exports does
// for the other entry points) and exposes the relying-party verifier and the service.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('sgx-quote-helper/attest', () => {
  it('resolves and exports verifyAttestationToken and startAttestService', () => {
    const script = "const a = await import('sgx-quote-helper/attest'); console.log(JSON.stringify([typeof a.verifyAttestationToken, typeof a.startAttestService, typeof a.policyHash]));";
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
    expect(out).toEqual(['function', 'function', 'function']);
  });
});
