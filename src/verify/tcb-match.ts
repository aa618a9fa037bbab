import { VerificationError } from './reasons.js';
import {
  convergeWithQe,
  convergeWithTdxModule,
  type QeTcbOutcome,
  type TcbLevelStatus,
  type VerificationStatus,
} from './status.js';
import type { TcbInfo, TcbLevel, TdxModuleIdentity } from './tcb-info.js';
import type { EnclaveIdentity } from './qe-identity.js';

export interface PlatformTcb {
  compSvns: number[];
  pceSvn: number;
}

export interface TdxTcbInput {
  teeTcbSvn: Buffer;
  mrSignerSeam: Buffer;
  seamAttributes: bigint;
  /** TD 1.5 bodies only. */
  teeTcbSvn2?: Buffer;
}

export interface QeMatch {
  /** NotSupported is raised only after the platform level is known, as QVL's convergence does. */
  status: QeTcbOutcome | 'NotSupported';
  tcbDate: string;
  advisoryIds: string[];
}

export interface StatusOutcome {
  status: VerificationStatus;
  platformStatus: TcbLevelStatus;
  tdxModuleStatus?: QeTcbOutcome;
  advisoryIds: string[];
  tcbDates: string[];
}

function sgxLevelMatches(p: PlatformTcb, l: TcbLevel): boolean {
  for (let i = 0; i < 16; i++) if (p.compSvns[i] < l.sgxComponents[i]) return false;
  return p.pceSvn >= l.pceSvn;
}

/** QVL `isTdxTcbHigherOrEqual`: components 0–1 belong to the module identity when tee_tcb_svn[1] > 0. */
function tdxLevelMatches(teeTcbSvn: Buffer, l: TcbLevel): boolean {
  const comps = l.tdxComponents ?? [];
  for (let i = teeTcbSvn[1] > 0 ? 2 : 0; i < 16; i++) if (teeTcbSvn[i] < (comps[i] ?? 0)) return false;
  return true;
}

function findModuleIdentity(info: TcbInfo, version: number): TdxModuleIdentity | undefined {
  const id = `TDX_${version.toString(16).toUpperCase().padStart(2, '0')}`;
  return info.tdxModuleIdentities?.find((m) => m.id.toUpperCase() === id);
}

function moduleOutcome(status: TcbLevelStatus): QeTcbOutcome {
  return status === 'UpToDate' ? 'UpToDate' : status === 'Revoked' ? 'Revoked' : 'OutOfDate';
}

/**
 * Spec §5.F.6 (QVL 4.1.2.4.11): MRSIGNERSEAM must equal the module's (identity's) mrsigner and
 * SEAMATTRIBUTES must be zero and equal to its attributes.
 */
export function checkTdxModule(info: TcbInfo, quoteVersion: number, td: TdxTcbInput): TdxModuleIdentity | undefined {
  if (!info.tdxModule) throw new VerificationError('TCB_INFO_MISMATCH', 'TDX TCB info has no tdxModule');
  let expected = info.tdxModule;
  let identity: TdxModuleIdentity | undefined;
  const version = td.teeTcbSvn[1];
  if (quoteVersion > 3 && version > 0) {
    if (!info.tdxModuleIdentities) {
      throw new VerificationError('TCB_INFO_MISMATCH', `TDX module version ${version} but the TCB info has no tdxModuleIdentities`);
    }
    identity = findModuleIdentity(info, version);
    if (!identity) throw new VerificationError('TDX_MODULE_MISMATCH', `TCB info has no TDX module identity TDX_${version.toString(16).padStart(2, '0')}`);
    expected = identity;
  }
  if (!td.mrSignerSeam.equals(expected.mrsigner)) {
    throw new VerificationError('TDX_MODULE_MISMATCH', 'MRSIGNERSEAM differs from the TDX module mrsigner in the TCB info');
  }
  const seam = Buffer.alloc(8);
  seam.writeBigUInt64LE(td.seamAttributes);
  if (td.seamAttributes !== 0n || !seam.equals(expected.attributes)) {
    throw new VerificationError('TDX_MODULE_MISMATCH', 'SEAMATTRIBUTES are not zero or differ from the TDX module attributes');
  }
  return identity;
}

/** Spec §5.F.10 (QVL EnclaveReportVerifier + EnclaveIdentityV2::getTcbStatus). */
export function matchQeIdentity(
  identity: EnclaveIdentity,
  qe: { miscSelect: number; attributes: Buffer; mrSigner: Buffer; isvProdId: number; isvSvn: number },
): QeMatch {
  if (((qe.miscSelect & identity.miscselectMask) >>> 0) !== identity.miscselect >>> 0) {
    throw new VerificationError('QE_IDENTITY_MISMATCH', 'QE MISCSELECT under the mask differs from the QE identity');
  }
  for (let i = 0; i < 16; i++) {
    // QVL compares masked report attributes with the identity value unmasked.
    if ((qe.attributes[i] & identity.attributesMask[i]) !== identity.attributes[i]) {
      throw new VerificationError('QE_IDENTITY_MISMATCH', 'QE ATTRIBUTES under the mask differ from the QE identity');
    }
  }
  if (identity.mrsigner.some((b) => b !== 0) && !identity.mrsigner.equals(qe.mrSigner)) {
    throw new VerificationError('QE_IDENTITY_MISMATCH', 'QE MRSIGNER differs from the QE identity');
  }
  if (qe.isvProdId !== identity.isvprodid) {
    throw new VerificationError('QE_IDENTITY_MISMATCH', `QE ISV prod id ${qe.isvProdId} differs from the QE identity's ${identity.isvprodid}`);
  }
  const level = identity.tcbLevels.find((l) => l.isvsvn <= qe.isvSvn);
  if (!level) return { status: 'NotSupported', tcbDate: '', advisoryIds: [] };
  return { status: moduleOutcome(level.tcbStatus), tcbDate: level.tcbDate, advisoryIds: level.advisoryIds };
}

function isConfigurationNeeded(s: VerificationStatus): boolean {
  return (
    s === 'ConfigurationNeeded' ||
    s === 'OutOfDateConfigurationNeeded' ||
    s === 'ConfigurationAndSWHardeningNeeded' ||
    s === 'TDRelaunchAdvisedConfigurationNeeded'
  );
}

/** QVL TDRelaunchCheck (TD 1.5 bodies): an OutOfDate TD whose tee_tcb_svn2 is already current may just relaunch. */
function relaunch(
  svn2: Buffer,
  info: TcbInfo,
  sgx: TcbLevelStatus,
  tdx: TcbLevelStatus,
  module: QeTcbOutcome | undefined,
  qe: QeMatch['status'] | undefined,
): VerificationStatus {
  if (qe === 'OutOfDate' || qe === 'Revoked' || qe === 'NotSupported') return tdx;
  if (!['UpToDate', 'SWHardeningNeeded', 'ConfigurationNeeded', 'ConfigurationAndSWHardeningNeeded'].includes(sgx)) return tdx;
  if (tdx !== 'OutOfDate' && tdx !== 'OutOfDateConfigurationNeeded') return tdx;
  if (module !== 'OutOfDate') return tdx;
  const latest = info.tcbLevels[0];
  const latestComps = latest.tdxComponents ?? [];
  let firstOk: boolean;
  if (svn2[1] === 0) {
    firstOk = svn2[0] >= (latestComps[0] ?? 0);
  } else {
    const id2 = findModuleIdentity(info, svn2[1]);
    if (!id2) throw new VerificationError('TDX_MODULE_MISMATCH', `TCB info has no TDX module identity for tee_tcb_svn2 version ${svn2[1]}`);
    firstOk = svn2[0] >= id2.tcbLevels[0].isvsvn;
  }
  if (firstOk && svn2[2] >= (latestComps[2] ?? 0)) {
    return isConfigurationNeeded(sgx) || isConfigurationNeeded(tdx) ? 'TDRelaunchAdvisedConfigurationNeeded' : 'TDRelaunchAdvised';
  }
  return tdx;
}

/** Spec §5.G (QVL checkTcbLevel): select the platform level, TDX level and module status, then converge with the QE. */
export function platformStatus(
  info: TcbInfo,
  platform: PlatformTcb,
  qe: QeMatch | undefined,
  tdx: (TdxTcbInput & { moduleIdentity?: TdxModuleIdentity; quoteVersion: number }) | undefined,
): StatusOutcome {
  // The first level the platform's SGX TCB reaches (levels are in Intel's order, highest first).
  const sgxLevel = info.tcbLevels.find((l) => sgxLevelMatches(platform, l));
  if (!sgxLevel) throw new VerificationError('TCB_NOT_SUPPORTED', 'the PCK certificate TCB (component SVNs and PCESVN) is below every TCB level');
  const qeNotSupported = (): never => {
    throw new VerificationError('QE_TCB_NOT_SUPPORTED', 'the QE ISV SVN is below every QE identity TCB level');
  };
  const qeStatus = qe?.status === 'NotSupported' ? undefined : qe?.status;
  const qeAdvisories = qe?.advisoryIds ?? [];
  const qeDates = qe ? [qe.tcbDate] : [];
  if (!tdx) {
    if (qe?.status === 'NotSupported') qeNotSupported();
    const status = convergeWithQe(sgxLevel.tcbStatus, qeStatus);
    return {
      status,
      platformStatus: sgxLevel.tcbStatus,
      advisoryIds: unique([...sgxLevel.advisoryIds, ...qeAdvisories]),
      tcbDates: [sgxLevel.tcbDate, ...qeDates],
    };
  }
  // The first level both the SGX TCB and the TD's TEE_TCB_SVN reach.
  const tdxLevel = info.tcbLevels.find((l) => sgxLevelMatches(platform, l) && tdxLevelMatches(tdx.teeTcbSvn, l));
  if (!tdxLevel) throw new VerificationError('TCB_NOT_SUPPORTED', 'the TD TEE_TCB_SVN is below every TDX TCB level');
  let moduleStatus: QeTcbOutcome | undefined;
  const moduleAdvisories: string[] = [];
  const moduleDates: string[] = [];
  if (!(tdx.quoteVersion > 3 && tdx.teeTcbSvn[1] === 0)) {
    const identity = tdx.moduleIdentity ?? findModuleIdentity(info, tdx.teeTcbSvn[1]);
    if (!identity) throw new VerificationError('TDX_MODULE_MISMATCH', `TCB info has no TDX module identity for version ${tdx.teeTcbSvn[1]}`);
    const level = identity.tcbLevels.find((l) => tdx.teeTcbSvn[0] >= l.isvsvn);
    if (!level) throw new VerificationError('TDX_MODULE_TCB_NOT_SUPPORTED', `TDX module ISV SVN ${tdx.teeTcbSvn[0]} is below every ${identity.id} TCB level`);
    moduleStatus = moduleOutcome(level.tcbStatus);
    moduleAdvisories.push(...level.advisoryIds);
    moduleDates.push(level.tcbDate);
  }
  const tdxStatus = convergeWithTdxModule(tdxLevel.tcbStatus, moduleStatus);
  let status: VerificationStatus = tdxStatus;
  if (tdxStatus !== 'Revoked') {
    if (tdx.teeTcbSvn2) status = relaunch(tdx.teeTcbSvn2, info, sgxLevel.tcbStatus, tdxStatus, moduleStatus, qe?.status);
    if (qe?.status === 'NotSupported') qeNotSupported();
    status = convergeAny(status, qeStatus);
  }
  return {
    status,
    platformStatus: tdxLevel.tcbStatus,
    ...(moduleStatus ? { tdxModuleStatus: moduleStatus } : {}),
    advisoryIds: unique([...tdxLevel.advisoryIds, ...moduleAdvisories, ...qeAdvisories]),
    tcbDates: [tdxLevel.tcbDate, ...moduleDates, ...qeDates],
  };
}

/** QE convergence also passes the relaunch statuses through unchanged (QVL's switch lists them). */
function convergeAny(status: VerificationStatus, qe: QeTcbOutcome | undefined): VerificationStatus {
  if (status === 'TDRelaunchAdvised' || status === 'TDRelaunchAdvisedConfigurationNeeded') {
    return qe === 'Revoked' ? 'Revoked' : status;
  }
  return convergeWithQe(status as TcbLevelStatus, qe);
}

function unique(ids: string[]): string[] {
  return [...new Set(ids)];
}
