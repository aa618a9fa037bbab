import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseTcbInfo, type TcbInfo, VerificationError } from '../../src/verify/index.js';
import { checkTdxModule, platformStatus, type QeMatch, type TdxTcbInput } from '../../src/verify/tcb-match.js';
import { TESTDATA } from '../support/testdata.js';

const coll = JSON.parse(readFileSync(`${TESTDATA}/dcap-qvl/tdx_quote_collateral.json`, 'utf8')) as { tcb_info: string };
const REAL = parseTcbInfo(coll.tcb_info);
// The dcap-qvl TDX sample platform: PCK TCB matches the newest SGX level; tee_tcb_svn 06 01 03 00…
const PLATFORM = { compSvns: REAL.tcbLevels[0].sgxComponents, pceSvn: REAL.tcbLevels[0].pceSvn };
const svn = (...b: number[]) => Buffer.from([...b, ...Array(16 - b.length).fill(0)]);
const td = (teeTcbSvn: Buffer, extra: Partial<TdxTcbInput> & { quoteVersion?: number } = {}) => ({
  teeTcbSvn, mrSignerSeam: Buffer.alloc(48), seamAttributes: 0n, quoteVersion: 4, ...extra,
});
const upToDateQe = { status: 'UpToDate' as const, tcbDate: '2024-03-13T00:00:00Z', advisoryIds: [] };

function reasonOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof VerificationError ? e.reason : `untyped: ${String(e)}`;
  }
  return undefined;
}

describe('TDX TCB status (QVL TcbLevelCheck / TdxModuleCheck)', () => {
  it('real sample: UpToDate with module TDX_01 UpToDate', () => {
    const o = platformStatus(REAL, PLATFORM, upToDateQe, td(svn(6, 1, 3)));
    expect(o.status).toBe('UpToDate');
    expect(o.tdxModuleStatus).toBe('UpToDate');
  });

  it('module ISV SVN on an OutOfDate module level makes the TD OutOfDate', () => {
    expect(platformStatus(REAL, PLATFORM, upToDateQe, td(svn(3, 1, 3))).status).toBe('OutOfDate');
  });

  it('module ISV SVN below every level → TDX_MODULE_TCB_NOT_SUPPORTED', () => {
    expect(reasonOf(() => platformStatus(REAL, PLATFORM, upToDateQe, td(svn(1, 1, 3))))).toBe('TDX_MODULE_TCB_NOT_SUPPORTED');
  });

  it('an unknown module version has no identity → TDX_MODULE_MISMATCH', () => {
    expect(reasonOf(() => checkTdxModule(REAL, 4, td(svn(6, 2, 3))))).toBe('TDX_MODULE_MISMATCH');
    expect(reasonOf(() => checkTdxModule(REAL, 4, td(svn(6, 1, 3), { mrSignerSeam: Buffer.alloc(48, 1) })))).toBe('TDX_MODULE_MISMATCH');
    expect(reasonOf(() => checkTdxModule(REAL, 4, td(svn(6, 1, 3), { seamAttributes: 1n })))).toBe('TDX_MODULE_MISMATCH');
    expect(checkTdxModule(REAL, 4, td(svn(6, 1, 3)))?.id).toBe('TDX_01');
  });

  it('module identities are found by TDX_<version in two hex digits>, in any case', () => {
    const m1 = REAL.tdxModuleIdentities!.find((m) => m.id === 'TDX_01')!;
    const renamed = (id: string): TcbInfo => ({ ...REAL, tdxModuleIdentities: [{ ...m1, id }] });
    expect(checkTdxModule(renamed('tdx_01'), 4, td(svn(6, 1, 3)))?.id).toBe('tdx_01');
    expect(platformStatus(renamed('tdx_01'), PLATFORM, upToDateQe, td(svn(6, 1, 3))).tdxModuleStatus).toBe('UpToDate');
    expect(checkTdxModule(renamed('TDX_1A'), 4, td(svn(6, 0x1a, 3)))?.id).toBe('TDX_1A');
    expect(checkTdxModule(renamed('TDX_1a'), 4, td(svn(6, 0x1a, 3)))?.id).toBe('TDX_1a');
    expect(reasonOf(() => checkTdxModule(renamed('TDX_1'), 4, td(svn(6, 1, 3))))).toBe('TDX_MODULE_MISMATCH');
    expect(reasonOf(() => checkTdxModule(renamed('TDX_10'), 4, td(svn(6, 1, 3))))).toBe('TDX_MODULE_MISMATCH');
  });

  it('SEAMATTRIBUTES must be zero even when the module identity expects the same non-zero value', () => {
    const m1 = REAL.tdxModuleIdentities!.find((m) => m.id === 'TDX_01')!;
    const attrs = Buffer.from('0100000000000000', 'hex');
    const info: TcbInfo = { ...REAL, tdxModuleIdentities: [{ ...m1, attributes: attrs }] };
    expect(reasonOf(() => checkTdxModule(info, 4, td(svn(6, 1, 3), { seamAttributes: 1n })))).toBe('TDX_MODULE_MISMATCH');
    expect(reasonOf(() => checkTdxModule({ ...REAL, tdxModule: { ...REAL.tdxModule!, attributes: attrs } }, 4, td(svn(6, 0, 3), { seamAttributes: 1n })))).toBe('TDX_MODULE_MISMATCH');
  });

  it('the TCB dates and advisories of the deciding levels: TDX level, module level, QE level, in that order', () => {
    const qe = { status: 'UpToDate' as const, tcbDate: '2023-01-01T00:00:00Z', advisoryIds: ['INTEL-SA-00001'] };
    const o = platformStatus(REAL, PLATFORM, qe, td(svn(6, 1, 3)));
    const m1 = REAL.tdxModuleIdentities!.find((m) => m.id === 'TDX_01')!;
    const tdxLevel = REAL.tcbLevels.find((l) => l.tcbStatus === o.platformStatus)!;
    expect(o.tcbDates).toEqual([tdxLevel.tcbDate, m1.tcbLevels[0].tcbDate, '2023-01-01T00:00:00Z']);
    expect(o.advisoryIds).toEqual([...new Set([...tdxLevel.advisoryIds, ...m1.tcbLevels[0].advisoryIds, 'INTEL-SA-00001'])]);
    // Without a QE identity and without a module (version 0): the TDX level alone.
    const bare = platformStatus(REAL, PLATFORM, undefined, td(svn(6, 0, 3)));
    expect(bare.tcbDates).toHaveLength(1);
    expect(bare.advisoryIds).toEqual(REAL.tcbLevels.find((l) => l.tcbStatus === bare.platformStatus)!.advisoryIds);
    // SGX: platform level then QE level; without a QE identity, the platform level alone.
    const sgx = platformStatus({ ...REAL, id: 'SGX' }, PLATFORM, qe, undefined);
    expect(sgx.tcbDates).toEqual([REAL.tcbLevels[0].tcbDate, '2023-01-01T00:00:00Z']);
    expect(platformStatus({ ...REAL, id: 'SGX' }, PLATFORM, undefined, undefined).tcbDates).toEqual([REAL.tcbLevels[0].tcbDate]);
    expect(platformStatus({ ...REAL, id: 'SGX' }, PLATFORM, undefined, undefined).advisoryIds).toEqual(REAL.tcbLevels[0].advisoryIds);
  });

  it('a module ISV SVN equal to a level\'s isvsvn is at that level', () => {
    const m1 = REAL.tdxModuleIdentities!.find((m) => m.id === 'TDX_01')!;
    const top = m1.tcbLevels[0];
    const o = platformStatus(REAL, PLATFORM, upToDateQe, td(svn(top.isvsvn, 1, 3)));
    expect(o.tdxModuleStatus).toBe(top.tcbStatus === 'UpToDate' ? 'UpToDate' : 'OutOfDate');
    expect(o.tcbDates[1]).toBe(top.tcbDate);
  });

  it('a Revoked TD is Revoked even when the QE has no supported level', () => {
    const revoked: TcbInfo = { ...REAL, tcbLevels: REAL.tcbLevels.map((l) => ({ ...l, tcbStatus: 'Revoked' as const })) };
    expect(platformStatus(revoked, PLATFORM, { status: 'NotSupported', tcbDate: '', advisoryIds: [] }, td(svn(6, 1, 3))).status).toBe('Revoked');
  });

  it('a v3 quote (or module version 0) is judged against tdxModule, not an identity', () => {
    const noIds: TcbInfo = { ...REAL, tdxModuleIdentities: undefined };
    expect(checkTdxModule(noIds, 3, td(svn(6, 1, 3)))).toBeUndefined();
    expect(checkTdxModule(noIds, 4, td(svn(6, 0, 3)))).toBeUndefined();
    expect(reasonOf(() => checkTdxModule(noIds, 4, td(svn(6, 1, 3))))).toBe('TCB_INFO_MISMATCH');
    expect(reasonOf(() => checkTdxModule({ ...REAL, tdxModule: undefined }, 4, td(svn(6, 1, 3))))).toBe('TCB_INFO_MISMATCH');
  });

  it('module version 0 in a v4 quote: all 16 components compared, no module status', () => {
    const o = platformStatus(REAL, PLATFORM, upToDateQe, td(svn(6, 0, 3)));
    expect(o.status).toBe('UpToDate');
    expect(o.tdxModuleStatus).toBeUndefined();
    expect(reasonOf(() => platformStatus(REAL, PLATFORM, upToDateQe, td(svn(4, 0, 3))))).toBe('TCB_NOT_SUPPORTED');
  });

  it('QE convergence applies to TDX too', () => {
    const qe = { status: 'OutOfDate' as const, tcbDate: '2021-01-01T00:00:00Z', advisoryIds: ['INTEL-SA-00615'] };
    const o = platformStatus(REAL, PLATFORM, qe, td(svn(6, 1, 3)));
    expect(o.status).toBe('OutOfDate');
    expect(o.advisoryIds).toEqual(['INTEL-SA-00615']);
    expect(reasonOf(() => platformStatus(REAL, PLATFORM, { status: 'NotSupported', tcbDate: '', advisoryIds: [] }, td(svn(6, 1, 3))))).toBe('QE_TCB_NOT_SUPPORTED');
  });

  describe('TD 1.5 relaunch advice (QVL TDRelaunchCheck)', () => {
    const zero = Array(16).fill(0);
    const tdx = (c0: number, c2: number) => [c0, 0, c2, ...Array(13).fill(0)];
    const info: TcbInfo = {
      ...REAL,
      tcbLevels: [
        { sgxComponents: zero, pceSvn: 0, tdxComponents: tdx(4, 5), tcbDate: '2025-01-01T00:00:00Z', tcbStatus: 'UpToDate', advisoryIds: [] },
        { sgxComponents: zero, pceSvn: 0, tdxComponents: tdx(0, 3), tcbDate: '2024-01-01T00:00:00Z', tcbStatus: 'OutOfDate', advisoryIds: ['INTEL-SA-01036'] },
      ],
      tdxModuleIdentities: [{
        id: 'TDX_01', mrsigner: Buffer.alloc(48), attributes: Buffer.alloc(8), attributesMask: Buffer.alloc(8, 0xff),
        tcbLevels: [
          { isvsvn: 4, tcbDate: '2025-01-01T00:00:00Z', tcbStatus: 'UpToDate', advisoryIds: [] },
          { isvsvn: 2, tcbDate: '2024-01-01T00:00:00Z', tcbStatus: 'OutOfDate', advisoryIds: [] },
        ],
      }],
    };
    const platform = { compSvns: zero, pceSvn: 0 };
    const run = (svn2: Buffer) => platformStatus(info, platform, upToDateQe, td(svn(3, 1, 3), { teeTcbSvn2: svn2, quoteVersion: 5 })).status;

    it('an OutOfDate TD whose tee_tcb_svn2 is current → TDRelaunchAdvised', () => {
      expect(run(svn(4, 1, 5))).toBe('TDRelaunchAdvised');
    });
    it('tee_tcb_svn2 not current → stays OutOfDate', () => {
      expect(run(svn(4, 1, 4))).toBe('OutOfDate');
      expect(run(svn(3, 1, 5))).toBe('OutOfDate');
    });
    it('module version 0 in tee_tcb_svn2: its SVN is compared with the latest level\'s TDX component 0', () => {
      expect(run(svn(4, 0, 5))).toBe('TDRelaunchAdvised');
      expect(run(svn(3, 0, 5))).toBe('OutOfDate');
    });
    it('a tee_tcb_svn2 module version without a module identity → TDX_MODULE_MISMATCH', () => {
      expect(reasonOf(() => run(svn(4, 2, 5)))).toBe('TDX_MODULE_MISMATCH');
    });
    const withStatuses = (sgx: string, tdx: string): TcbInfo => ({
      ...info,
      tcbLevels: [{ ...info.tcbLevels[0], tcbStatus: sgx as never }, { ...info.tcbLevels[1], tcbStatus: tdx as never }],
    });
    const runWith = (i: TcbInfo, qe: QeMatch = upToDateQe, tee = svn(3, 1, 3)) =>
      platformStatus(i, platform, qe, td(tee, { teeTcbSvn2: svn(4, 1, 5), quoteVersion: 5 })).status;
    it('relaunch needs the platform\'s SGX level UpToDate, SWHardeningNeeded or Configuration*; ConfigurationNeeded carries over', () => {
      expect(runWith(withStatuses('SWHardeningNeeded', 'OutOfDate'))).toBe('TDRelaunchAdvised');
      expect(runWith(withStatuses('ConfigurationNeeded', 'OutOfDate'))).toBe('TDRelaunchAdvisedConfigurationNeeded');
      expect(runWith(withStatuses('ConfigurationAndSWHardeningNeeded', 'OutOfDate'))).toBe('TDRelaunchAdvisedConfigurationNeeded');
      expect(runWith(withStatuses('OutOfDate', 'OutOfDate'))).toBe('OutOfDate');
      expect(runWith(withStatuses('OutOfDateConfigurationNeeded', 'OutOfDate'))).toBe('OutOfDate');
    });
    it('relaunch applies to an OutOfDate or OutOfDateConfigurationNeeded TD only; a Revoked TD stays Revoked', () => {
      expect(runWith(withStatuses('UpToDate', 'OutOfDateConfigurationNeeded'))).toBe('TDRelaunchAdvisedConfigurationNeeded');
      expect(runWith(withStatuses('UpToDate', 'Revoked'))).toBe('Revoked');
    });
    it('no relaunch when the module itself is current (the TD is out of date for another reason)', () => {
      expect(runWith(info, upToDateQe, svn(4, 1, 3))).toBe('OutOfDate');
    });
    it('no relaunch when the QE is OutOfDate; a Revoked QE wins over relaunch advice', () => {
      const qeOut = { status: 'OutOfDate' as const, tcbDate: '2021-01-01T00:00:00Z', advisoryIds: [] };
      expect(runWith(info, qeOut)).toBe('OutOfDate');
      expect(runWith(info, { ...qeOut, status: 'Revoked' })).toBe('Revoked');
      expect(reasonOf(() => runWith(info, { status: 'NotSupported', tcbDate: '', advisoryIds: [] }))).toBe('QE_TCB_NOT_SUPPORTED');
    });
    it('without a TD 1.5 body there is no relaunch advice', () => {
      expect(platformStatus(info, platform, upToDateQe, td(svn(3, 1, 3))).status).toBe('OutOfDate');
    });
  });
});
