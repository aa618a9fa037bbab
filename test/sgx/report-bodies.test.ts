import { describe, expect, it } from 'vitest';
import {
  emptyReportBody,
  encodeReportBody,
  encodeTdReportBody10,
  encodeTdReportBody15,
  parseQuote,
  parseReportBody,
  parseTdReportBody10,
  parseTdReportBody15,
  type TdReportBody15,
} from '../../src/sgx/index.js';
import { expectParseError } from './expect-parse-error.js';
import { td } from './testdata.js';

/**
 * The SGX report body and the TD report bodies: every encoded field refused by name at its offset, and
 * the truncation of a nested body reported at the offset in the outer buffer (written for mutation
 * testing, docs/mutation-testing.md). Offsets are written out from sgx_report.h / sgx_quote_4.h /
 * sgx_quote_5.h, not taken from the source's offset tables.
 */

describe('sgx_report_body_t', () => {
  it('encodeReportBody names every field it refuses, at its offset, under the field prefix given', () => {
    const b = emptyReportBody();
    const cases: Array<[object, string, number]> = [
      [{ raw: Buffer.alloc(383) }, 'raw', 0],
      [{ cpuSvn: Buffer.alloc(15) }, 'cpuSvn', 0],
      [{ miscSelect: -1 }, 'miscSelect', 16],
      [{ isvExtProdId: Buffer.alloc(1) }, 'isvExtProdId', 32],
      [{ attributes: { flags: 0n, xfrm: -1n } }, 'attributes.xfrm', 56],
      [{ mrEnclave: Buffer.alloc(1) }, 'mrEnclave', 64],
      [{ mrSigner: Buffer.alloc(1) }, 'mrSigner', 128],
      [{ configId: Buffer.alloc(1) }, 'configId', 192],
      [{ isvProdId: 0x10000 }, 'isvProdId', 256],
      [{ isvSvn: 0x10000 }, 'isvSvn', 258],
      [{ configSvn: 0x10000 }, 'configSvn', 260],
      [{ isvFamilyId: Buffer.alloc(1) }, 'isvFamilyId', 304],
      [{ reportData: Buffer.alloc(63) }, 'reportData', 320],
    ];
    for (const [edit, name, offset] of cases) {
      expectParseError(() => encodeReportBody({ ...b, ...edit }), 'INVALID_VALUE', new RegExp(`^reportBody\\.${name.replace(/\./g, '\\.')}$`), offset);
      expectParseError(() => encodeReportBody({ ...b, ...edit }, 'x.body'), 'INVALID_VALUE', new RegExp(`^x\\.body\\.${name.replace(/\./g, '\\.')}$`), offset);
    }
  });

  it('a body cut short is reported by its field name at the offset in the outer buffer', () => {
    expectParseError(() => parseReportBody(Buffer.alloc(383)), 'TRUNCATED', /^reportBody$/, 0);
    expectParseError(() => parseReportBody(Buffer.alloc(400), 20, 'outer.body', 1000), 'TRUNCATED', /^outer\.body$/, 1020);
  });
});

describe('TD report bodies (TDX 1.0 and 1.5)', () => {
  const v4 = parseQuote(td('dcap-qvl/tdx_quote'));
  const v5 = parseQuote(td('dcap-qvl/tdx_quote_outdated'));
  if (v4.body.type !== 'td10' || v5.body.type !== 'td15') throw new Error('expected TD 1.0 and TD 1.5 bodies');
  const td10 = v4.body.report;
  const td15 = v5.body.report;

  const cases: Array<[object, string, number]> = [
    [{ teeTcbSvn: Buffer.alloc(15) }, 'teeTcbSvn', 0],
    [{ mrSeam: Buffer.alloc(1) }, 'mrSeam', 16],
    [{ mrSignerSeam: Buffer.alloc(1) }, 'mrSignerSeam', 64],
    [{ seamAttributes: -1n }, 'seamAttributes', 112],
    [{ tdAttributes: 1n << 64n }, 'tdAttributes', 120],
    [{ xfam: -1n }, 'xfam', 128],
    [{ mrTd: Buffer.alloc(1) }, 'mrTd', 136],
    [{ mrConfigId: Buffer.alloc(1) }, 'mrConfigId', 184],
    [{ mrOwner: Buffer.alloc(1) }, 'mrOwner', 232],
    [{ mrOwnerConfig: Buffer.alloc(1) }, 'mrOwnerConfig', 280],
    [{ rtMr: [Buffer.alloc(48), Buffer.alloc(48), Buffer.alloc(1), Buffer.alloc(48)] }, 'rtMr[2]', 328 + 2 * 48],
    [{ rtMr: [Buffer.alloc(48)] }, 'rtMr[1]', 328 + 48],
    // An edited body without the array at all is refused the same way, not with a TypeError.
    [{ rtMr: undefined }, 'rtMr[0]', 328],
    [{ reportData: Buffer.alloc(1) }, 'reportData', 520],
  ];
  const fieldRe = (prefix: string, name: string) => new RegExp(`^${prefix}\\.${name.replace(/[.[\]]/g, '\\$&')}$`);

  it('encodeTdReportBody10 names every field it refuses, at its offset', () => {
    expectParseError(() => encodeTdReportBody10({ ...td10, raw: Buffer.alloc(648) }), 'INVALID_VALUE', /^tdReport\.raw$/, 0);
    for (const [edit, name, offset] of cases) {
      expectParseError(() => encodeTdReportBody10({ ...td10, ...edit }), 'INVALID_VALUE', fieldRe('tdReport', name), offset);
      expectParseError(() => encodeTdReportBody10({ ...td10, ...edit }, 'q.td'), 'INVALID_VALUE', fieldRe('q\\.td', name), offset);
    }
  });

  it('encodeTdReportBody15: the 1.0 fields, then tee_tcb_svn2 and mr_servicetd', () => {
    expectParseError(() => encodeTdReportBody15({ ...td15, raw: Buffer.alloc(584) }), 'INVALID_VALUE', /^tdReport\.raw$/, 0);
    for (const [edit, name, offset] of cases) {
      expectParseError(() => encodeTdReportBody15({ ...td15, ...edit } as TdReportBody15), 'INVALID_VALUE', fieldRe('tdReport', name), offset);
    }
    expectParseError(() => encodeTdReportBody15({ ...td15, teeTcbSvn2: Buffer.alloc(1) }), 'INVALID_VALUE', /^tdReport\.teeTcbSvn2$/, 584);
    expectParseError(() => encodeTdReportBody15({ ...td15, mrServiceTd: Buffer.alloc(1) }, 'b'), 'INVALID_VALUE', /^b\.mrServiceTd$/, 600);
  });

  it('reads tee_tcb_svn2 and mr_servicetd of a TD 1.5 body at 584 and 600', () => {
    const raw = Buffer.from(td15.raw!);
    raw.fill(0x5a, 584, 600);
    raw.fill(0xa5, 600, 648);
    const p = parseTdReportBody15(raw, 0);
    expect(p.teeTcbSvn2.equals(Buffer.alloc(16, 0x5a))).toBe(true);
    expect(p.mrServiceTd.equals(Buffer.alloc(48, 0xa5))).toBe(true);
    expect(encodeTdReportBody15(p).equals(raw)).toBe(true);
  });

  it('a body cut short is reported by its field name at the offset in the outer buffer', () => {
    const raw10 = td10.raw!;
    expectParseError(() => parseTdReportBody10(raw10.subarray(0, 583), 0), 'TRUNCATED', /^tdReport$/, 0);
    expectParseError(() => parseTdReportBody10(Buffer.concat([Buffer.alloc(8), raw10]).subarray(0, 590), 8, 'o.td', 100), 'TRUNCATED', /^o\.td$/, 108);
    // 584 bytes are a whole TD 1.0 body but not a TD 1.5 one.
    expect(parseTdReportBody10(raw10, 0).mrTd.equals(td10.mrTd)).toBe(true);
    expectParseError(() => parseTdReportBody15(raw10, 0), 'TRUNCATED', /^tdReport$/, 0);
    expectParseError(() => parseTdReportBody15(raw10, 0, 'o.td', 50), 'TRUNCATED', /^o\.td$/, 50);
  });
});
