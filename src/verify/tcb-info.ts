import {
  CollateralJsonError,
  advisoryIds,
  arr,
  date,
  hexBytes,
  obj,
  parseJsonObject,
  str,
  tcbStatus,
  uint,
  type Json,
} from './json-fields.js';
import type { TcbLevelStatus } from './status.js';

export interface TcbLevel {
  sgxComponents: number[];
  pceSvn: number;
  tdxComponents?: number[];
  tcbDate: string;
  tcbStatus: TcbLevelStatus;
  advisoryIds: string[];
}

export interface TdxModule {
  mrsigner: Buffer;
  attributes: Buffer;
  attributesMask: Buffer;
}

export interface TdxModuleIdentity extends TdxModule {
  id: string;
  tcbLevels: { isvsvn: number; tcbDate: string; tcbStatus: TcbLevelStatus; advisoryIds: string[] }[];
}

export interface TcbInfo {
  id: 'SGX' | 'TDX';
  version: 2 | 3;
  issueDate: Date;
  nextUpdate: Date;
  fmspc: Buffer;
  pceId: Buffer;
  tcbType: number;
  tcbEvaluationDataNumber: number;
  tdxModule?: TdxModule;
  tdxModuleIdentities?: TdxModuleIdentity[];
  /** Sorted descending (QVL keeps them in a `std::set<…, std::greater>`), so JSON order does not matter. */
  tcbLevels: TcbLevel[];
}

/** Statuses a TDX module identity level may carry (QVL `VALID_MODULE_TCB_STATUSES`). */
const MODULE_STATUSES = new Set(['UpToDate', 'OutOfDate', 'Revoked']);

function components(v: unknown, what: string): number[] {
  const list = arr(v, what);
  if (list.length !== 16) throw new CollateralJsonError(`${what} must have exactly 16 entries`);
  return list.map((c, i) => uint(obj(c, `${what}[${i}]`).svn, `${what}[${i}].svn`, 255));
}

function parseLevel(v: unknown, i: number, version: 2 | 3, tdx: boolean): TcbLevel {
  const lvl = obj(v, `tcbLevels[${i}]`);
  const tcb = obj(lvl.tcb, `tcbLevels[${i}].tcb`);
  let sgxComponents: number[];
  if (version === 2) {
    sgxComponents = [];
    for (let c = 1; c <= 16; c++) {
      const key = `sgxtcbcomp${String(c).padStart(2, '0')}svn`;
      sgxComponents.push(uint(tcb[key], `tcbLevels[${i}].tcb.${key}`, 255));
    }
  } else {
    sgxComponents = components(tcb.sgxtcbcomponents, `tcbLevels[${i}].tcb.sgxtcbcomponents`);
  }
  const level: TcbLevel = {
    sgxComponents,
    pceSvn: uint(tcb.pcesvn, `tcbLevels[${i}].tcb.pcesvn`, 0xffff),
    tcbDate: (date(lvl.tcbDate, `tcbLevels[${i}].tcbDate`), lvl.tcbDate as string),
    tcbStatus: tcbStatus(lvl.tcbStatus, `tcbLevels[${i}].tcbStatus`),
    advisoryIds: advisoryIds(lvl.advisoryIDs, `tcbLevels[${i}].advisoryIDs`),
  };
  if (tdx) level.tdxComponents = components(tcb.tdxtcbcomponents, `tcbLevels[${i}].tcb.tdxtcbcomponents`);
  return level;
}

/** Descending order of QVL `TcbLevel::operator>`: SGX components, then PCESVN, then TDX components. */
function compareLevels(a: TcbLevel, b: TcbLevel): number {
  for (let i = 0; i < 16; i++) if (a.sgxComponents[i] !== b.sgxComponents[i]) return b.sgxComponents[i] - a.sgxComponents[i];
  if (a.pceSvn !== b.pceSvn) return b.pceSvn - a.pceSvn;
  const at = a.tdxComponents ?? [];
  const bt = b.tdxComponents ?? [];
  for (let i = 0; i < Math.min(at.length, bt.length); i++) if (at[i] !== bt[i]) return bt[i] - at[i];
  return 0;
}

function parseModule(v: unknown, what: string): TdxModule {
  const m = obj(v, what);
  return {
    mrsigner: hexBytes(m.mrsigner, 48, `${what}.mrsigner`),
    attributes: hexBytes(m.attributes, 8, `${what}.attributes`),
    attributesMask: hexBytes(m.attributesMask, 8, `${what}.attributesMask`),
  };
}

function parseModuleIdentity(v: unknown, i: number): TdxModuleIdentity {
  const what = `tdxModuleIdentities[${i}]`;
  const m = obj(v, what);
  const levels = arr(m.tcbLevels, `${what}.tcbLevels`);
  if (levels.length === 0) throw new CollateralJsonError(`${what}.tcbLevels must not be empty`);
  return {
    id: str(m.id, `${what}.id`),
    ...parseModule(m, what),
    tcbLevels: levels.map((l, j) => {
      const lvl = obj(l, `${what}.tcbLevels[${j}]`);
      const status = tcbStatus(lvl.tcbStatus, `${what}.tcbLevels[${j}].tcbStatus`);
      if (!MODULE_STATUSES.has(status)) throw new CollateralJsonError(`${what}.tcbLevels[${j}].tcbStatus ${status} is not allowed for a TDX module`);
      date(lvl.tcbDate, `${what}.tcbLevels[${j}].tcbDate`);
      return {
        isvsvn: uint(obj(lvl.tcb, `${what}.tcbLevels[${j}].tcb`).isvsvn, `${what}.tcbLevels[${j}].tcb.isvsvn`, 255),
        tcbDate: lvl.tcbDate as string,
        tcbStatus: status,
        advisoryIds: advisoryIds(lvl.advisoryIDs, `${what}.tcbLevels[${j}].advisoryIDs`),
      };
    }),
  };
}

/** Parse a TCB info body (v2 or v3, SGX or TDX) by the rules of spec §4.1 (QVL TcbInfo.cpp). */
export function parseTcbInfo(text: string): TcbInfo {
  const o: Json = parseJsonObject(text, 'tcbInfo');
  const version = uint(o.version, 'version');
  if (version !== 2 && version !== 3) throw new CollateralJsonError(`version ${version} is not supported (2 or 3)`);
  let id: 'SGX' | 'TDX' = 'SGX';
  if (version === 3) {
    const s = str(o.id, 'id');
    if (s !== 'SGX' && s !== 'TDX') throw new CollateralJsonError(`id ${JSON.stringify(s)} must be "SGX" or "TDX"`);
    id = s;
  }
  const tdx = id === 'TDX';
  if (!tdx && (o.tdxModule !== undefined || o.tdxModuleIdentities !== undefined)) {
    throw new CollateralJsonError('SGX TCB info must not contain tdxModule/tdxModuleIdentities');
  }
  if (tdx && o.tdxModule === undefined) throw new CollateralJsonError('TDX TCB info must contain tdxModule');
  const tcbType = uint(o.tcbType, 'tcbType');
  if (tcbType !== 0) throw new CollateralJsonError(`tcbType ${tcbType} is not supported (0)`);
  const levelsJson = arr(o.tcbLevels, 'tcbLevels');
  if (levelsJson.length === 0) throw new CollateralJsonError('tcbLevels must not be empty');
  const tcbLevels = levelsJson.map((l, i) => parseLevel(l, i, version, tdx)).sort(compareLevels);
  for (let i = 1; i < tcbLevels.length; i++) {
    if (compareLevels(tcbLevels[i - 1], tcbLevels[i]) === 0) throw new CollateralJsonError('tcbLevels contains duplicated TCB levels');
  }
  const info: TcbInfo = {
    id,
    version,
    issueDate: date(o.issueDate, 'issueDate'),
    nextUpdate: date(o.nextUpdate, 'nextUpdate'),
    fmspc: hexBytes(o.fmspc, 6, 'fmspc'),
    pceId: hexBytes(o.pceId, 2, 'pceId'),
    tcbType,
    tcbEvaluationDataNumber: uint(o.tcbEvaluationDataNumber, 'tcbEvaluationDataNumber'),
    tcbLevels,
  };
  if (tdx) {
    info.tdxModule = parseModule(o.tdxModule, 'tdxModule');
    if (o.tdxModuleIdentities !== undefined) {
      info.tdxModuleIdentities = arr(o.tdxModuleIdentities, 'tdxModuleIdentities').map(parseModuleIdentity);
    }
  }
  return info;
}
