import { createCrl, crlPem } from './crl.js';
import { addMs, DAY_MS, HOUR_MS, pcsDate } from './pcs-date.js';
import type { CaType, Issued } from './pki.js';
import { pcsBody, qeIdentityText, signJsonText, tcbInfoText, type QeIdentityLevel } from './signed-json.js';
import type { PkiRecord, PlatformRecord } from './state.js';
import { encodeAttributes } from '../../sgx/attributes.js';
import { collateralToDcapQvlJson, type Collateral } from '../collateral.js';
import { profileRevokesPck, tcbLevelsFor, type TcbProfile } from './tcb-profiles.js';

/**
 * The collateral of a simulated platform: a `Collateral` (src/providers/collateral.ts, the type src/pcs
 * and src/verify use too) plus PCS-shaped extras for a collateral server. Everything is signed by the
 * simulated PKI and valid for a window around `now`; it never carries a `pckCertificateChain` (the sim's
 * quotes carry their chain).
 */
export interface SimCollateral extends Collateral {
  teeType: 'SGX';
  pckCertificateChain?: undefined;

  // ---- PCS-shaped extras ----
  /** Always true: nothing here is Intel's. */
  simulated: true;
  /** PCS response body `{"tcbInfo":…,"signature":"…"}`. */
  tcbInfoPcsBody: string;
  /** PCS response body `{"enclaveIdentity":…,"signature":"…"}`. */
  qeIdentityPcsBody: string;
  pckCertPem: string;
  /** PEM: PCK CA, then root (the `SGX-PCK-Certificate-Issuer-Chain` header). */
  pckCertIssuerChain: string;
  /** PEM leaf ‖ intermediate ‖ root, as carried by the platform's quotes. */
  pckCertChainPem: string;
  rootCertPem: string;
  rootCertDer: Buffer;
  rootCaCrlPem: string;
  pckCrlPem: string;
  /** 12 uppercase hex chars. */
  fmspc: string;
  /** 4 uppercase hex chars. */
  pceId: string;
  caType: CaType;
  tcbProfile: TcbProfile;
  issueDate: Date;
  nextUpdate: Date;
}

/** How long TCB Info, QE Identity and the PCK CRL are valid (Intel: 30 days). */
export const COLLATERAL_VALIDITY_MS = 30 * DAY_MS;
/** Root CA CRL validity (Intel: about a year). */
export const ROOT_CRL_VALIDITY_MS = 365 * DAY_MS;

/**
 * issueDate = `now` rounded down to the hour: never in the future (dcap-qvl rejects that), and stable
 * for an hour so the collateral can be cached.
 */
export function collateralIssueDate(now: Date): Date {
  return new Date(Math.floor(now.getTime() / HOUR_MS) * HOUR_MS);
}

export interface CollateralInputs {
  platform: PlatformRecord;
  pki: PkiRecord;
  /** CryptoKey pairs of the CAs (CRL signing). */
  rootCa: Issued;
  pckCa: Issued;
  now: Date;
}

/** The QE identity levels: the QE's own SVN is UpToDate, two below is OutOfDate. */
function qeLevels(qeSvn: number): QeIdentityLevel[] {
  const levels: QeIdentityLevel[] = [{ isvSvn: qeSvn, tcbDate: '2024-03-13T00:00:00Z', tcbStatus: 'UpToDate' }];
  if (qeSvn >= 2) levels.push({ isvSvn: qeSvn - 2, tcbDate: '2021-11-10T00:00:00Z', tcbStatus: 'OutOfDate', advisoryIDs: ['INTEL-SA-00615'] });
  return levels;
}

/** QE identity masks Intel publishes: all MISCSELECT bits; attributes except MODE64BIT, no XFRM. */
const QE_MISCSELECT_MASK = 0xffffffff;
const QE_ATTRIBUTES_MASK = Buffer.from('FBFFFFFFFFFFFFFF0000000000000000', 'hex');

export async function buildCollateral(i: CollateralInputs): Promise<SimCollateral> {
  const { platform: p, pki } = i;
  const issueDate = collateralIssueDate(i.now);
  const nextUpdate = addMs(issueDate, COLLATERAL_VALIDITY_MS);

  const tcbText = tcbInfoText({
    fmspc: p.fmspc,
    pceId: p.pceId,
    issueDate,
    nextUpdate,
    tcbEvaluationDataNumber: p.tcbEvaluationDataNumber,
    levels: tcbLevelsFor(p.tcbProfile, { compSvns: [...p.cpuSvn], pceSvn: p.pceSvn }),
  });
  const qeAttributes = encodeAttributes(p.qe.attributes);
  for (let b = 0; b < qeAttributes.length; b++) qeAttributes[b] &= QE_ATTRIBUTES_MASK[b];
  const qeText = qeIdentityText({
    issueDate,
    nextUpdate,
    tcbEvaluationDataNumber: p.tcbEvaluationDataNumber,
    miscSelect: p.qe.miscSelect,
    miscSelectMask: QE_MISCSELECT_MASK,
    attributes: qeAttributes,
    attributesMask: QE_ATTRIBUTES_MASK,
    mrSigner: p.qe.mrSigner,
    isvProdId: p.qe.isvProdId,
    levels: qeLevels(p.qe.isvSvn),
  });
  const tcbSig = signJsonText(tcbText, pki.tcbSigning.key);
  const qeSig = signJsonText(qeText, pki.tcbSigning.key);

  const crlNumber = Math.floor(issueDate.getTime() / HOUR_MS);
  const rootCaCrl = await createCrl({ issuer: i.rootCa, thisUpdate: issueDate, nextUpdate: addMs(issueDate, ROOT_CRL_VALIDITY_MS), crlNumber });
  const pckCrl = await createCrl({
    issuer: i.pckCa,
    thisUpdate: issueDate,
    nextUpdate,
    crlNumber,
    revokedSerials: profileRevokesPck(p.tcbProfile) ? [pki.pck.cert.serialNumber] : [],
  });

  const rootPem = pki.rootCa.certPem;
  const caChain = pki.pckCa.certPem + rootPem;
  const signingChain = pki.tcbSigning.certPem + rootPem;
  return {
    teeType: 'SGX',
    pckCrlIssuerChain: caChain,
    rootCaCrl,
    pckCrl,
    tcbInfoIssuerChain: signingChain,
    tcbInfoBody: tcbText,
    tcbInfoSignature: tcbSig,
    qeIdentityIssuerChain: signingChain,
    qeIdentityBody: qeText,
    qeIdentitySignature: qeSig,
    simulated: true,
    tcbInfoPcsBody: pcsBody('tcbInfo', tcbText, tcbSig),
    qeIdentityPcsBody: pcsBody('enclaveIdentity', qeText, qeSig),
    pckCertPem: pki.pck.certPem,
    pckCertIssuerChain: caChain,
    pckCertChainPem: pki.pck.certPem + caChain,
    rootCertPem: rootPem,
    rootCertDer: Buffer.from(pki.rootCa.cert.rawData),
    rootCaCrlPem: crlPem(rootCaCrl),
    pckCrlPem: crlPem(pckCrl),
    fmspc: p.fmspc.toString('hex').toUpperCase(),
    pceId: p.pceId.toString('hex').toUpperCase(),
    caType: p.caType,
    tcbProfile: p.tcbProfile,
    issueDate,
    nextUpdate,
  };
}

/** dcap-qvl's QuoteCollateralV3 JSON: hex for CRLs and signatures, inner JSON texts verbatim. */
export function toDcapQvlCollateral(c: SimCollateral): Record<string, string> {
  return collateralToDcapQvlJson(c);
}

/** The PCS-shaped export (`sim collateral --format pcs`): every response body and header value as text. */
export function toPcsBundle(c: SimCollateral): Record<string, unknown> {
  return {
    simulated: 'SIMULATED collateral from sgx-quote-helper: signed by a simulated Intel-like PKI, not by Intel',
    fmspc: c.fmspc,
    pceId: c.pceId,
    caType: c.caType,
    tcbProfile: c.tcbProfile,
    issueDate: pcsDate(c.issueDate),
    nextUpdate: pcsDate(c.nextUpdate),
    tcbInfo: c.tcbInfoPcsBody,
    tcbInfoIssuerChain: c.tcbInfoIssuerChain,
    qeIdentity: c.qeIdentityPcsBody,
    qeIdentityIssuerChain: c.qeIdentityIssuerChain,
    pckCrl: c.pckCrlPem,
    pckCrlIssuerChain: c.pckCrlIssuerChain,
    rootCaCrl: c.rootCaCrlPem,
    pckCert: c.pckCertPem,
    pckCertIssuerChain: c.pckCertIssuerChain,
    rootCaCert: c.rootCertPem,
  };
}
