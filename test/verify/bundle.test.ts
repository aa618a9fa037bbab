import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CollateralFormatError,
  collateralFromDcapQvlJson,
  collateralToBundleJson,
  collateralToDcapQvlJson,
  loadCollateralBundle,
  parseCollateralBundle,
  splitSignedPcsBody,
} from '../../src/pcs/bundle.js';
import { TESTDATA as TD } from '../support/testdata.js';

const read = (p: string) => readFileSync(`${TD}/${p}`, 'utf8');

describe('collateral bundles', () => {
  it('reads every dcap-qvl QuoteCollateralV3 sample and round-trips it', () => {
    for (const [file, tee] of [
      ['dcap-qvl/sgx_quote_collateral.json', 'SGX'],
      ['dcap-qvl/tdx_quote_collateral.json', 'TDX'],
      ['dcap-qvl/tdx_quote_outdated_collateral.json', 'TDX'],
      ['mobilecoin/collateral_dcap_qvl_format.json', 'SGX'],
      ['go-tdx-guest/collateral_dcap_qvl_format_v4.json', 'TDX'],
      ['simulated/sim_collateral.json', 'SGX'],
    ] as const) {
      const json = JSON.parse(read(file));
      const c = collateralFromDcapQvlJson(json);
      expect(c.teeType, file).toBe(tee);
      expect(c.tcbInfoSignature.length).toBe(64);
      expect(c.qeIdentitySignature.length).toBe(64);
      expect(c.rootCaCrl[0]).toBe(0x30);
      expect(collateralToDcapQvlJson(c)).toEqual(json);
      expect(parseCollateralBundle(JSON.stringify(collateralToBundleJson(c)))).toEqual(c);
    }
  });

  it('slices the exact signed tcbInfo/enclaveIdentity text out of PCS bodies', () => {
    const mc = JSON.parse(read('mobilecoin/collateral_dcap_qvl_format.json'));
    const tcb = splitSignedPcsBody(read('mobilecoin/fmspc_00906ED50000_2023_07_12.json'), 'tcbInfo');
    expect(tcb.body).toBe(mc.tcb_info);
    expect(tcb.signature.toString('hex')).toBe(mc.tcb_info_signature);
    const qe = splitSignedPcsBody(read('mobilecoin/qe_identity.json'), 'enclaveIdentity');
    expect(qe.body).toBe(mc.qe_identity);
  });

  it('slices the signed text verbatim when the outer JSON is reordered, spaced and holds look-alike strings', () => {
    const inner = '{ "id" : "SGX",\n  "note": "a } and a \\" and \\u00e9", "levels": [ {"x": [1, 2]} ], "n": -1.50e2 }';
    const sig = 'ab'.repeat(64);
    const text = `\n {\r\n\t"decoy": "\\"tcbInfo\\": {}",  "nested": {"tcbInfo": {"wrong": true}},\n "signature" : "${sig}" ,\n "tcbInfo" :\n ${inner}\n}\n`;
    const split = splitSignedPcsBody(text, 'tcbInfo');
    expect(split.body).toBe(inner);
    expect(split.signature.toString('hex')).toBe(sig);
  });

  it('accepts CRLs as PEM and byte arrays', () => {
    const json = JSON.parse(read('mobilecoin/collateral_dcap_qvl_format.json'));
    const der = readFileSync(`${TD}/mobilecoin/root_crl.der`);
    const c = collateralFromDcapQvlJson({ ...json, root_ca_crl: read('mobilecoin/root_crl.pem'), pck_crl: [...der] });
    expect(c.rootCaCrl.equals(der)).toBe(true);
    expect(c.pckCrl.equals(der)).toBe(true);
  });

  it('gives typed errors for bad bundles', async () => {
    const bad: Array<[string, string]> = [
      ['not json', 'INVALID_JSON'],
      ['[1,2]', 'INVALID_JSON'],
      ['{}', 'MISSING_FIELD'],
      [JSON.stringify({ ...JSON.parse(read('dcap-qvl/sgx_quote_collateral.json')), pck_crl: 'zz' }), 'INVALID_FIELD'],
      [JSON.stringify({ ...JSON.parse(read('dcap-qvl/sgx_quote_collateral.json')), tcb_info: 5 }), 'INVALID_FIELD'],
      [JSON.stringify({ format: 'other' }), 'INVALID_FIELD'],
    ];
    for (const [text, code] of bad) {
      const err = (() => {
        try {
          parseCollateralBundle(text);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(CollateralFormatError);
      expect((err as CollateralFormatError).code).toBe(code);
    }
    await expect(loadCollateralBundle('/nonexistent/bundle.json')).rejects.toMatchObject({ code: 'UNREADABLE' });
  });
});
