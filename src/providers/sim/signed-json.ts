import { sign, type KeyObject } from 'node:crypto';
import { pcsDate } from './pcs-date.js';
import type { TcbLevelSpec } from './tcb-profiles.js';

/**
 * TCB Info v3 and QE Identity v2 bodies (spec §4.1/§4.2): compact JSON with Intel's member order,
 * integer numbers and ASCII strings, so the signed bytes are exactly `JSON.stringify` output and any
 * verifier that re-serialises (QVL, dcap-qvl) gets the same bytes back.
 */

export interface TcbInfoParams {
  fmspc: Buffer;
  pceId: Buffer;
  issueDate: Date;
  nextUpdate: Date;
  tcbEvaluationDataNumber: number;
  levels: TcbLevelSpec[];
}

/** The exact inner `tcbInfo` text that gets signed. */
export function tcbInfoText(p: TcbInfoParams): string {
  return JSON.stringify({
    id: 'SGX',
    version: 3,
    issueDate: pcsDate(p.issueDate),
    nextUpdate: pcsDate(p.nextUpdate),
    fmspc: p.fmspc.toString('hex').toUpperCase(),
    pceId: p.pceId.toString('hex').toUpperCase(),
    tcbType: 0,
    tcbEvaluationDataNumber: p.tcbEvaluationDataNumber,
    tcbLevels: p.levels.map((l) => ({
      tcb: { sgxtcbcomponents: l.compSvns.map((svn) => ({ svn })), pcesvn: l.pceSvn },
      tcbDate: l.tcbDate,
      tcbStatus: l.tcbStatus,
      ...(l.advisoryIDs ? { advisoryIDs: l.advisoryIDs } : {}),
    })),
  });
}

export interface QeIdentityLevel {
  isvSvn: number;
  tcbDate: string;
  tcbStatus: 'UpToDate' | 'OutOfDate' | 'Revoked';
  advisoryIDs?: string[];
}

export interface QeIdentityParams {
  issueDate: Date;
  nextUpdate: Date;
  tcbEvaluationDataNumber: number;
  miscSelect: number;
  miscSelectMask: number;
  /** 16 bytes as laid out in the report (flags LE ‖ xfrm LE). */
  attributes: Buffer;
  attributesMask: Buffer;
  mrSigner: Buffer;
  isvProdId: number;
  levels: QeIdentityLevel[];
}

function u32LeHex(v: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b.toString('hex').toUpperCase();
}

/** The exact inner `enclaveIdentity` text that gets signed. */
export function qeIdentityText(p: QeIdentityParams): string {
  return JSON.stringify({
    id: 'QE',
    version: 2,
    issueDate: pcsDate(p.issueDate),
    nextUpdate: pcsDate(p.nextUpdate),
    tcbEvaluationDataNumber: p.tcbEvaluationDataNumber,
    miscselect: u32LeHex(p.miscSelect),
    miscselectMask: u32LeHex(p.miscSelectMask),
    attributes: p.attributes.toString('hex').toUpperCase(),
    attributesMask: p.attributesMask.toString('hex').toUpperCase(),
    mrsigner: p.mrSigner.toString('hex').toUpperCase(),
    isvprodid: p.isvProdId,
    tcbLevels: p.levels.map((l) => ({
      tcb: { isvsvn: l.isvSvn },
      tcbDate: l.tcbDate,
      tcbStatus: l.tcbStatus,
      ...(l.advisoryIDs ? { advisoryIDs: l.advisoryIDs } : {}),
    })),
  });
}

/** ECDSA-P256-SHA256 over the exact UTF-8 bytes; 64-byte r‖s (spec §2 S4/S5). */
export function signJsonText(text: string, key: KeyObject): Buffer {
  return sign('sha256', Buffer.from(text, 'utf8'), { key, dsaEncoding: 'ieee-p1363' });
}

/** The PCS response body `{"<member>":<text>,"signature":"<hex>"}` embedding `text` verbatim. */
export function pcsBody(member: 'tcbInfo' | 'enclaveIdentity', text: string, signature: Buffer): string {
  return `{"${member}":${text},"signature":"${signature.toString('hex')}"}`;
}
