import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseTcbInfo } from '../../src/verify/index.js';
import { TESTDATA } from '../support/testdata.js';

/**
 * More of the TCB info format rules (spec §4.1), each broken once on Intel's real bodies, asserting the
 * message that names the field (test/verify/collateral-json.test.ts has the rest), and the ordering of
 * levels that differ only in their TDX components, whatever the JSON order.
 */

type Json = Record<string, any>;
const load = (f: string) => JSON.parse(readFileSync(`${TESTDATA}/dcap-qvl/${f}`, 'utf8')) as { tcb_info: string };
const SGX = load('sgx_quote_collateral.json').tcb_info;
const TDX = load('tdx_quote_collateral.json').tcb_info;
const edited = (text: string, edit: (o: Json) => void): string => {
  const o = JSON.parse(text) as Json;
  edit(o);
  return JSON.stringify(o);
};
const tcb = (edit: (o: Json) => void, text = SGX) => () => parseTcbInfo(edited(text, edit));

describe('TCB info fields named in the refusal', () => {
  it('top-level fields', () => {
    expect(tcb((o) => delete o.version)).toThrow('version must be an integer 0..4294967295');
    expect(tcb((o) => (o.tcbEvaluationDataNumber = 'seventeen'))).toThrow('tcbEvaluationDataNumber must be an integer 0..4294967295');
    expect(tcb((o) => (o.tcbLevels[2] = 'level'))).toThrow('tcbLevels[2] must be an object');
    expect(tcb((o) => (o.tdxModuleIdentities = {}), TDX)).toThrow('tdxModuleIdentities must be an array');
  });

  it('TDX module identity levels', () => {
    const m = 'tdxModuleIdentities[1]';
    expect(tcb((o) => (o.tdxModuleIdentities[1].tcbLevels = 'none'), TDX)).toThrow(`${m}.tcbLevels must be an array`);
    expect(tcb((o) => (o.tdxModuleIdentities[1].tcbLevels[0] = 3), TDX)).toThrow(`${m}.tcbLevels[0] must be an object`);
    expect(tcb((o) => (o.tdxModuleIdentities[1].tcbLevels[0].tcbStatus = 'Fine'), TDX)).toThrow(`${m}.tcbLevels[0].tcbStatus "Fine" is not a known TCB status`);
    expect(tcb((o) => (o.tdxModuleIdentities[1].tcbLevels[0].tcb = []), TDX)).toThrow(`${m}.tcbLevels[0].tcb must be an object`);
    expect(tcb((o) => delete o.tdxModuleIdentities[1].tcbLevels[0].tcb.isvsvn, TDX)).toThrow(`${m}.tcbLevels[0].tcb.isvsvn must be an integer 0..255`);
    expect(tcb((o) => (o.tdxModuleIdentities[1].tcbLevels[0].advisoryIDs = 'INTEL-SA-00837'), TDX)).toThrow(`${m}.tcbLevels[0].advisoryIDs must be an array`);
  });
});

describe('levels differing only in TDX components come out highest first', () => {
  /** Two levels, identical but for TDX component 2 (`low` then `high` in the JSON). */
  const twoLevels = (low: number, high: number) =>
    parseTcbInfo(edited(TDX, (o) => {
      const l = o.tcbLevels[0];
      const at = (v: number) => ({ ...l, tcb: { ...l.tcb, tdxtcbcomponents: l.tcb.tdxtcbcomponents.map((c: { svn: number }, i: number) => ({ svn: i === 2 ? v : c.svn })) } });
      o.tcbLevels = [at(low), at(high)];
    }));
  it('lower first in the JSON', () => {
    expect(twoLevels(1, 7).tcbLevels.map((l) => l.tdxComponents![2])).toEqual([7, 1]);
  });
  it('higher first in the JSON', () => {
    expect(twoLevels(7, 1).tcbLevels.map((l) => l.tdxComponents![2])).toEqual([7, 1]);
  });
});
