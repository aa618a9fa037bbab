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
} from './json-fields.js';
import type { TcbLevelStatus } from './status.js';

export interface EnclaveIdentity {
  id: 'QE' | 'QVE' | 'TD_QE';
  version: 2;
  issueDate: Date;
  nextUpdate: Date;
  tcbEvaluationDataNumber: number;
  miscselect: number;
  miscselectMask: number;
  /** 16 bytes as laid out in the report: flags LE ‖ xfrm LE. */
  attributes: Buffer;
  attributesMask: Buffer;
  mrsigner: Buffer;
  isvprodid: number;
  /** In JSON order: QVL walks them as served and takes the first with isvsvn ≤ the QE's. */
  tcbLevels: { isvsvn: number; tcbDate: string; tcbStatus: TcbLevelStatus; advisoryIds: string[] }[];
}

/** Parse an Enclave Identity v2 body by the rules of spec §4.2 (QVL EnclaveIdentityParser/V2). */
export function parseEnclaveIdentity(text: string): EnclaveIdentity {
  const o = parseJsonObject(text, 'enclaveIdentity');
  const version = uint(o.version, 'version');
  if (version !== 2) throw new CollateralJsonError(`version ${version} is not supported (2)`);
  const id = str(o.id, 'id');
  if (id !== 'QE' && id !== 'QVE' && id !== 'TD_QE') throw new CollateralJsonError(`id ${JSON.stringify(id)} must be QE, QVE or TD_QE`);
  const levels = arr(o.tcbLevels, 'tcbLevels');
  if (levels.length === 0) throw new CollateralJsonError('tcbLevels must not be empty');
  return {
    id,
    version: 2,
    issueDate: date(o.issueDate, 'issueDate'),
    nextUpdate: date(o.nextUpdate, 'nextUpdate'),
    tcbEvaluationDataNumber: uint(o.tcbEvaluationDataNumber, 'tcbEvaluationDataNumber'),
    // Hex is the report's byte layout, so MISCSELECT reads little-endian (QVL `vectorToUint32` swaps).
    miscselect: hexBytes(o.miscselect, 4, 'miscselect').readUInt32LE(0),
    miscselectMask: hexBytes(o.miscselectMask, 4, 'miscselectMask').readUInt32LE(0),
    attributes: hexBytes(o.attributes, 16, 'attributes'),
    attributesMask: hexBytes(o.attributesMask, 16, 'attributesMask'),
    mrsigner: hexBytes(o.mrsigner, 32, 'mrsigner'),
    isvprodid: uint(o.isvprodid, 'isvprodid', 0xffff),
    tcbLevels: levels.map((l, i) => {
      const lvl = obj(l, `tcbLevels[${i}]`);
      date(lvl.tcbDate, `tcbLevels[${i}].tcbDate`);
      return {
        isvsvn: uint(obj(lvl.tcb, `tcbLevels[${i}].tcb`).isvsvn, `tcbLevels[${i}].tcb.isvsvn`, 0xffff),
        tcbDate: lvl.tcbDate as string,
        tcbStatus: tcbStatus(lvl.tcbStatus, `tcbLevels[${i}].tcbStatus`),
        advisoryIds: advisoryIds(lvl.advisoryIDs, `tcbLevels[${i}].advisoryIDs`),
      };
    }),
  };
}
