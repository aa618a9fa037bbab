import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBundleSource, PcsError } from '../../src/pcs/index.js';
import { TD, pcsSignatureValid } from './helpers/testdata.js';

describe('local bundle collateral source', () => {
  it('serves a dcap-qvl QuoteCollateralV3 file for its own FMSPC / CA / TEE', async () => {
    const s = await createBundleSource(`${TD}/dcap-qvl/sgx_quote_collateral.json`);
    const c = await s.get({ tee: 'SGX', fmspc: '00a067110000', ca: 'processor' });
    expect(c.teeType).toBe('SGX');
    expect(pcsSignatureValid(c.tcbInfoIssuerChain, c.tcbInfoBody, c.tcbInfoSignature)).toBe(true);
    await expect(s.get({ tee: 'SGX', fmspc: '00906ED50000', ca: 'processor' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(s.get({ tee: 'SGX', fmspc: '00A067110000', ca: 'platform' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(s.get({ tee: 'TDX', fmspc: '00A067110000', ca: 'processor' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('accepts an array of sets and picks the matching one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sqh-bundle-'));
    const p = join(dir, 'many.json');
    const sets = ['dcap-qvl/sgx_quote_collateral.json', 'dcap-qvl/tdx_quote_collateral.json'].map((f) => JSON.parse(readFileSync(`${TD}/${f}`, 'utf8')));
    writeFileSync(p, JSON.stringify(sets));
    const s = await createBundleSource(p);
    const tdx = await s.get({ tee: 'TDX', fmspc: 'B0C06F000000', ca: 'platform' });
    expect(JSON.parse(tdx.tcbInfoBody).id).toBe('TDX');
  });

  it('unreadable or malformed files give BAD_BUNDLE', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sqh-bundle-'));
    await expect(createBundleSource(join(dir, 'nope.json'))).rejects.toMatchObject({ code: 'BAD_BUNDLE' });
    writeFileSync(join(dir, 'bad.json'), '{"tcb_info": 5}');
    await expect(createBundleSource(join(dir, 'bad.json'))).rejects.toBeInstanceOf(PcsError);
    writeFileSync(join(dir, 'empty.json'), '[]');
    await expect(createBundleSource(join(dir, 'empty.json'))).rejects.toMatchObject({ code: 'BAD_BUNDLE' });
  });
});
