import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseEnclaveIdentity, parseTcbInfo } from '../../src/verify/index.js';
import { TESTDATA } from '../support/testdata.js';

/**
 * The format rules of the signed collateral bodies (spec §4.1 TCB info, §4.2 Enclave Identity; Intel QVL's
 * parsers), each broken once on Intel's real bodies: the parser must refuse and name the field. The verifier
 * maps these refusals to TCB_INFO_FORMAT / QE_IDENTITY_FORMAT (test/verify/bad-input.test.ts).
 */

// Edits reach deep into the JSON; the parser under test is what checks the shapes.
type Json = Record<string, any>;
const load = (f: string) => JSON.parse(readFileSync(`${TESTDATA}/dcap-qvl/${f}`, 'utf8')) as { tcb_info: string; qe_identity: string };
const SGX = load('sgx_quote_collateral.json');
const TDX = load('tdx_quote_collateral.json');

const edited = (text: string, edit: (o: Json) => void): string => {
  const o = JSON.parse(text) as Json;
  edit(o);
  return JSON.stringify(o);
};
const tcb = (edit: (o: Json) => void, text = SGX.tcb_info) => () => parseTcbInfo(edited(text, edit));
const qe = (edit: (o: Json) => void, text = SGX.qe_identity) => () => parseEnclaveIdentity(edited(text, edit));

/** The v3 SGX body rewritten as TCB info v2 (no id, sgxtcbcompNNsvn fields). */
function asV2(text: string): string {
  return edited(text, (o) => {
    o.version = 2;
    delete o.id;
    for (const l of o.tcbLevels) {
      const comps = l.tcb.sgxtcbcomponents as { svn: number }[];
      delete l.tcb.sgxtcbcomponents;
      comps.forEach((c, i) => (l.tcb[`sgxtcbcomp${String(i + 1).padStart(2, '0')}svn`] = c.svn));
    }
  });
}

describe('TCB info', () => {
  it('the real SGX and TDX bodies parse with their facts', () => {
    const s = parseTcbInfo(SGX.tcb_info);
    expect(s).toMatchObject({ id: 'SGX', version: 3, tcbType: 0, tcbEvaluationDataNumber: 17 });
    expect(s.fmspc.toString('hex')).toBe('00a067110000');
    expect(s.pceId.toString('hex')).toBe('0000');
    expect(s.issueDate.toISOString()).toBe('2025-06-19T10:56:11.000Z');
    expect(s.nextUpdate.toISOString()).toBe('2025-07-19T10:56:11.000Z');
    expect(s.tcbLevels[0]).toMatchObject({ pceSvn: 13, tcbDate: '2024-03-13T00:00:00Z', tcbStatus: 'SWHardeningNeeded', advisoryIds: ['INTEL-SA-00615'] });
    expect(s.tcbLevels[0].sgxComponents).toEqual([11, 11, 2, 2, 255, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(s.tcbLevels[0].tdxComponents).toBeUndefined();
    expect(s.tdxModule).toBeUndefined();
    const t = parseTcbInfo(TDX.tcb_info);
    expect(t.id).toBe('TDX');
    expect(t.tcbLevels[0].tdxComponents).toEqual([5, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(t.tdxModule?.attributesMask.toString('hex')).toBe('ffffffffffffffff');
    expect(t.tdxModuleIdentities?.map((m) => m.id)).toContain('TDX_03');
    const m3 = t.tdxModuleIdentities!.find((m) => m.id === 'TDX_03')!;
    expect(m3.tcbLevels[0]).toEqual({ isvsvn: 3, tcbDate: '2024-03-13T00:00:00Z', tcbStatus: 'UpToDate', advisoryIds: [] });
  });

  it('v2 (no id, sgxtcbcompNNsvn) reads the same levels as v3', () => {
    const v2 = parseTcbInfo(asV2(SGX.tcb_info));
    expect(v2.version).toBe(2);
    expect(v2.id).toBe('SGX');
    expect(v2.tcbLevels).toEqual(parseTcbInfo(SGX.tcb_info).tcbLevels);
    expect(() => parseTcbInfo(edited(asV2(SGX.tcb_info), (o) => delete o.tcbLevels[0].tcb.sgxtcbcomp16svn))).toThrow(/tcbLevels\[0\]\.tcb\.sgxtcbcomp16svn must be an integer 0\.\.255/);
    expect(() => parseTcbInfo(edited(asV2(SGX.tcb_info), (o) => (o.tcbLevels[0].tcb.sgxtcbcomp01svn = 256)))).toThrow(/sgxtcbcomp01svn must be an integer 0\.\.255/);
  });

  it('version, id and tcbType are checked', () => {
    expect(tcb((o) => (o.version = 4))).toThrow('version 4 is not supported (2 or 3)');
    expect(tcb((o) => (o.version = 1))).toThrow(/version 1 is not supported/);
    expect(tcb((o) => (o.id = 'SEV'))).toThrow('id "SEV" must be "SGX" or "TDX"');
    expect(tcb((o) => delete o.id)).toThrow(/id must be a string/);
    expect(tcb((o) => (o.tcbType = 1))).toThrow('tcbType 1 is not supported (0)');
    expect(tcb((o) => delete o.tcbType)).toThrow(/tcbType must be an integer/);
  });

  it('an SGX body must not carry TDX module fields; a TDX body must carry tdxModule', () => {
    const mod = JSON.parse(TDX.tcb_info).tdxModule;
    expect(tcb((o) => (o.tdxModule = mod))).toThrow('SGX TCB info must not contain tdxModule/tdxModuleIdentities');
    expect(tcb((o) => (o.tdxModuleIdentities = []))).toThrow('SGX TCB info must not contain tdxModule/tdxModuleIdentities');
    expect(tcb((o) => delete o.tdxModule, TDX.tcb_info)).toThrow('TDX TCB info must contain tdxModule');
    // Module identities are optional.
    expect(parseTcbInfo(edited(TDX.tcb_info, (o) => delete o.tdxModuleIdentities)).tdxModuleIdentities).toBeUndefined();
  });

  it('fixed-size hex fields: fmspc 6 bytes, pceId 2 bytes, module mrsigner 48, attributes 8; any case', () => {
    expect(tcb((o) => (o.fmspc = '00A0671100'))).toThrow('fmspc must be 12 hex characters');
    expect(tcb((o) => (o.fmspc = '00A06711000G'))).toThrow('fmspc must be 12 hex characters');
    expect(parseTcbInfo(edited(SGX.tcb_info, (o) => (o.fmspc = '00a067110000'))).fmspc.toString('hex')).toBe('00a067110000');
    expect(tcb((o) => (o.pceId = '000'))).toThrow('pceId must be 4 hex characters');
    expect(tcb((o) => (o.tdxModule.mrsigner = '00'), TDX.tcb_info)).toThrow('tdxModule.mrsigner must be 96 hex characters');
    expect(tcb((o) => (o.tdxModule.attributesMask = 'FF'), TDX.tcb_info)).toThrow('tdxModule.attributesMask must be 16 hex characters');
    expect(tcb((o) => (o.tdxModuleIdentities[0].attributes = 'FF'), TDX.tcb_info)).toThrow('tdxModuleIdentities[0].attributes must be 16 hex characters');
  });

  it('dates are YYYY-MM-DDTHH:MM:SSZ exactly', () => {
    expect(tcb((o) => (o.issueDate = '2025-06-19T10:56:11.000Z'))).toThrow('issueDate must be YYYY-MM-DDTHH:MM:SSZ');
    expect(tcb((o) => (o.nextUpdate = '2025-07-19 10:56:11Z'))).toThrow('nextUpdate must be YYYY-MM-DDTHH:MM:SSZ');
    expect(tcb((o) => (o.nextUpdate = '2025-13-19T10:56:11Z'))).toThrow('nextUpdate must be YYYY-MM-DDTHH:MM:SSZ');
    expect(tcb((o) => (o.tcbLevels[1].tcbDate = 'yesterday'))).toThrow('tcbLevels[1].tcbDate must be YYYY-MM-DDTHH:MM:SSZ');
    expect(tcb((o) => (o.tdxModuleIdentities[0].tcbLevels[0].tcbDate = '2024-03-13'), TDX.tcb_info)).toThrow('tdxModuleIdentities[0].tcbLevels[0].tcbDate must be YYYY-MM-DDTHH:MM:SSZ');
  });

  it('levels: non-empty, 16 components of 0..255, a known status, no duplicates', () => {
    expect(tcb((o) => (o.tcbLevels = []))).toThrow('tcbLevels must not be empty');
    expect(tcb((o) => (o.tcbLevels = {}))).toThrow('tcbLevels must be an array');
    expect(tcb((o) => o.tcbLevels[0].tcb.sgxtcbcomponents.pop())).toThrow('tcbLevels[0].tcb.sgxtcbcomponents must have exactly 16 entries');
    expect(tcb((o) => o.tcbLevels[0].tcb.sgxtcbcomponents.push({ svn: 0 }))).toThrow(/must have exactly 16 entries/);
    expect(tcb((o) => (o.tcbLevels[0].tcb.sgxtcbcomponents[3] = { svn: 256 }))).toThrow('tcbLevels[0].tcb.sgxtcbcomponents[3].svn must be an integer 0..255');
    expect(tcb((o) => (o.tcbLevels[0].tcb.sgxtcbcomponents[3] = { svn: -1 }))).toThrow(/sgxtcbcomponents\[3\]\.svn must be an integer/);
    expect(tcb((o) => (o.tcbLevels[0].tcb.sgxtcbcomponents[3] = { svn: 1.5 }))).toThrow(/sgxtcbcomponents\[3\]\.svn must be an integer/);
    expect(tcb((o) => (o.tcbLevels[0].tcb.sgxtcbcomponents[3] = 7))).toThrow('tcbLevels[0].tcb.sgxtcbcomponents[3] must be an object');
    expect(tcb((o) => (o.tcbLevels[0].tcb.pcesvn = 0x10000))).toThrow('tcbLevels[0].tcb.pcesvn must be an integer 0..65535');
    expect(tcb((o) => delete o.tcbLevels[0].tcb.tdxtcbcomponents, TDX.tcb_info)).toThrow('tcbLevels[0].tcb.tdxtcbcomponents must be an array');
    expect(tcb((o) => (o.tcbLevels[0].tcbStatus = 'Fine'))).toThrow('tcbLevels[0].tcbStatus "Fine" is not a known TCB status');
    expect(tcb((o) => (o.tcbLevels[0].advisoryIDs = ['INTEL-SA-00615', 615]))).toThrow('tcbLevels[0].advisoryIDs[1] must be a string');
    expect(tcb((o) => (o.tcbLevels[1] = o.tcbLevels[0]))).toThrow('tcbLevels contains duplicated TCB levels');
  });

  it('levels that differ only in PCESVN or only in TDX components are not duplicates', () => {
    const pce = parseTcbInfo(edited(SGX.tcb_info, (o) => (o.tcbLevels[1] = { ...o.tcbLevels[0], tcb: { ...o.tcbLevels[0].tcb, pcesvn: 12 } })));
    expect(pce.tcbLevels.map((l) => l.pceSvn).slice(0, 2)).toEqual([13, 12]);
    const tdxOnly = parseTcbInfo(edited(TDX.tcb_info, (o) => {
      const l = o.tcbLevels[0];
      o.tcbLevels[1] = { ...l, tcb: { ...l.tcb, tdxtcbcomponents: l.tcb.tdxtcbcomponents.map((c: { svn: number }, i: number) => ({ svn: i === 2 ? 1 : c.svn })) } };
    }));
    expect(tdxOnly.tcbLevels.slice(0, 2).map((l) => l.tdxComponents![2])).toEqual([2, 1]);
  });

  it('levels come out sorted highest first by SGX components, then PCESVN, then TDX components, whatever the JSON order', () => {
    const s = parseTcbInfo(SGX.tcb_info);
    const reversed = parseTcbInfo(edited(SGX.tcb_info, (o) => o.tcbLevels.reverse()));
    expect(reversed.tcbLevels).toEqual(s.tcbLevels);
    for (let i = 1; i < s.tcbLevels.length; i++) {
      const a = s.tcbLevels[i - 1];
      const b = s.tcbLevels[i];
      const k = a.sgxComponents.findIndex((v, j) => v !== b.sgxComponents[j]);
      if (k >= 0) expect(a.sgxComponents[k], `level ${i - 1} vs ${i}`).toBeGreaterThan(b.sgxComponents[k]);
      else expect(a.pceSvn).toBeGreaterThan(b.pceSvn);
    }
    const t = parseTcbInfo(edited(TDX.tcb_info, (o) => o.tcbLevels.reverse()));
    expect(t.tcbLevels).toEqual(parseTcbInfo(TDX.tcb_info).tcbLevels);
  });

  it('module identities: non-empty levels, module statuses only (UpToDate, OutOfDate, Revoked), isvsvn 0..255', () => {
    expect(tcb((o) => (o.tdxModuleIdentities[0].tcbLevels = []), TDX.tcb_info)).toThrow('tdxModuleIdentities[0].tcbLevels must not be empty');
    expect(tcb((o) => (o.tdxModuleIdentities[0].tcbLevels[0].tcbStatus = 'SWHardeningNeeded'), TDX.tcb_info))
      .toThrow('tdxModuleIdentities[0].tcbLevels[0].tcbStatus SWHardeningNeeded is not allowed for a TDX module');
    expect(tcb((o) => (o.tdxModuleIdentities[0].tcbLevels[0].tcb.isvsvn = 256), TDX.tcb_info)).toThrow('tdxModuleIdentities[0].tcbLevels[0].tcb.isvsvn must be an integer 0..255');
    expect(tcb((o) => (o.tdxModuleIdentities[0].id = 3), TDX.tcb_info)).toThrow('tdxModuleIdentities[0].id must be a string');
    for (const s of ['OutOfDate', 'Revoked']) {
      const t = parseTcbInfo(edited(TDX.tcb_info, (o) => (o.tdxModuleIdentities[0].tcbLevels[0].tcbStatus = s)));
      expect(t.tdxModuleIdentities![0].tcbLevels[0].tcbStatus).toBe(s);
    }
  });

  it('not JSON, or not an object', () => {
    expect(() => parseTcbInfo('{"version": 3')).toThrow(/^tcbInfo is not valid JSON/);
    expect(() => parseTcbInfo('[]')).toThrow('tcbInfo must be an object');
    expect(() => parseTcbInfo('null')).toThrow('tcbInfo must be an object');
    expect(tcb((o) => (o.tcbLevels[0].tcb = null))).toThrow('tcbLevels[0].tcb must be an object');
  });
});

describe('Enclave Identity (QE identity)', () => {
  it('the real QE and TD_QE bodies parse; MISCSELECT reads little-endian', () => {
    const q = parseEnclaveIdentity(SGX.qe_identity);
    expect(q).toMatchObject({ id: 'QE', version: 2, isvprodid: 1, miscselect: 0, miscselectMask: 0xffffffff, tcbEvaluationDataNumber: 17 });
    expect(q.mrsigner.toString('hex')).toBe('8c4f5775d796503e96137f77c68a829a0056ac8ded70140b081b094490c57bff');
    expect(q.attributes.toString('hex')).toBe('11000000000000000000000000000000');
    expect(q.attributesMask.toString('hex')).toBe('fbffffffffffffff0000000000000000');
    expect(q.tcbLevels[0]).toEqual({ isvsvn: 8, tcbDate: '2024-03-13T00:00:00Z', tcbStatus: 'UpToDate', advisoryIds: [] });
    expect(q.issueDate.toISOString()).toBe('2025-06-19T10:01:18.000Z');
    expect(q.nextUpdate.toISOString()).toBe('2025-07-19T10:01:18.000Z');
    expect(parseEnclaveIdentity(TDX.qe_identity)).toMatchObject({ id: 'TD_QE', isvprodid: 2 });
    expect(parseEnclaveIdentity(edited(SGX.qe_identity, (o) => (o.miscselect = '01020304'))).miscselect).toBe(0x04030201);
    expect(parseEnclaveIdentity(edited(SGX.qe_identity, (o) => (o.miscselectMask = '000000F0'))).miscselectMask).toBe(0xf0000000);
    expect(parseEnclaveIdentity(edited(SGX.qe_identity, (o) => (o.id = 'QVE'))).id).toBe('QVE');
  });

  it('the levels stay in JSON order (QVL walks them as served)', () => {
    const q = parseEnclaveIdentity(SGX.qe_identity);
    const r = parseEnclaveIdentity(edited(SGX.qe_identity, (o) => o.tcbLevels.reverse()));
    expect(r.tcbLevels).toEqual([...q.tcbLevels].reverse());
  });

  it('not JSON, not an object, or containers of the wrong kind', () => {
    expect(() => parseEnclaveIdentity('{"id": "QE"')).toThrow(/^enclaveIdentity is not valid JSON/);
    expect(() => parseEnclaveIdentity('"QE"')).toThrow('enclaveIdentity must be an object');
    expect(qe((o) => (o.version = '2'))).toThrow('version must be an integer 0..4294967295');
    expect(qe((o) => (o.tcbLevels = { isvsvn: 8 }))).toThrow('tcbLevels must be an array');
    expect(qe((o) => (o.tcbLevels[0] = 8))).toThrow('tcbLevels[0] must be an object');
    expect(qe((o) => (o.nextUpdate = '2025-07-19'))).toThrow('nextUpdate must be YYYY-MM-DDTHH:MM:SSZ');
  });

  it('version 2 and a known id only', () => {
    expect(qe((o) => (o.version = 1))).toThrow('version 1 is not supported (2)');
    expect(qe((o) => (o.version = 3))).toThrow('version 3 is not supported (2)');
    expect(qe((o) => (o.id = 'PCE'))).toThrow('id "PCE" must be QE, QVE or TD_QE');
    expect(qe((o) => delete o.id)).toThrow('id must be a string');
  });

  it('fixed-size hex fields and ranges', () => {
    expect(qe((o) => (o.miscselect = '0000000'))).toThrow('miscselect must be 8 hex characters');
    expect(qe((o) => (o.miscselectMask = 'FFFFFFFFFF'))).toThrow('miscselectMask must be 8 hex characters');
    expect(qe((o) => (o.attributes = '11'))).toThrow('attributes must be 32 hex characters');
    expect(qe((o) => (o.attributesMask = 'XBFFFFFFFFFFFFFF0000000000000000'))).toThrow('attributesMask must be 32 hex characters');
    expect(qe((o) => (o.mrsigner = o.mrsigner.slice(2)))).toThrow('mrsigner must be 64 hex characters');
    expect(qe((o) => (o.isvprodid = 0x10000))).toThrow('isvprodid must be an integer 0..65535');
    expect(qe((o) => (o.isvprodid = '1'))).toThrow('isvprodid must be an integer 0..65535');
    expect(qe((o) => (o.tcbEvaluationDataNumber = -1))).toThrow('tcbEvaluationDataNumber must be an integer 0..4294967295');
  });

  it('levels: non-empty, isvsvn 0..65535, a date, a known status, string advisories', () => {
    expect(qe((o) => (o.tcbLevels = []))).toThrow('tcbLevels must not be empty');
    expect(qe((o) => (o.tcbLevels[0].tcb.isvsvn = 0x10000))).toThrow('tcbLevels[0].tcb.isvsvn must be an integer 0..65535');
    expect(qe((o) => delete o.tcbLevels[0].tcb)).toThrow('tcbLevels[0].tcb must be an object');
    expect(qe((o) => (o.tcbLevels[0].tcbDate = '2024-03-13T00:00Z'))).toThrow('tcbLevels[0].tcbDate must be YYYY-MM-DDTHH:MM:SSZ');
    expect(qe((o) => (o.tcbLevels[0].tcbStatus = 'uptodate'))).toThrow('tcbLevels[0].tcbStatus "uptodate" is not a known TCB status');
    expect(qe((o) => (o.tcbLevels[0].advisoryIDs = 'INTEL-SA-00615'))).toThrow('tcbLevels[0].advisoryIDs must be an array');
    expect(parseEnclaveIdentity(edited(SGX.qe_identity, (o) => (o.tcbLevels[0].advisoryIDs = ['INTEL-SA-00615']))).tcbLevels[0].advisoryIds).toEqual(['INTEL-SA-00615']);
    expect(qe((o) => (o.issueDate = 1750327278))).toThrow('issueDate must be a string');
  });
});
