import { statSync } from 'node:fs';
import { join } from 'node:path';
import { SimPlatform, StateFiles, type SimCollateral } from '../providers/sim/index.js';
import { PcsError } from './errors.js';
import { encodeIssuerChainHeader } from './issuer-chain.js';
import type { CollateralBackend, ServedItem, SignedItemQuery } from './server-backend.js';
import { derCrlToPem } from './server-backend.js';

/**
 * Serves one simulated platform's collateral (signed by its simulated PKI) in PCS v4 shape, so any
 * PCS-speaking verifier configured with the simulated root can check sim quotes. SGX only: the
 * simulator has no TDX platform, so /tdx/... answers 404.
 */
export async function createSimBackend(opts: { stateDir?: string; platform?: SimPlatform; now?: () => Date }): Promise<CollateralBackend> {
  let platform = opts.platform ?? (await SimPlatform.load(opts.stateDir ?? ''));
  const now = opts.now ?? (() => new Date());
  // `sim set-tcb` (or a re-init) in another process rewrites platform.json atomically: notice it, so
  // the server always answers what the state dir says now.
  const marker = join(platform.stateDir, StateFiles.platform);
  const stamp = (): string => {
    try {
      const st = statSync(marker);
      return `${st.ino}:${st.mtimeMs}:${st.size}`;
    } catch {
      return 'missing';
    }
  };
  let seen = stamp();
  async function current(): Promise<SimPlatform> {
    const s = stamp();
    if (s !== seen && s !== 'missing') {
      try {
        platform = await SimPlatform.load(platform.stateDir);
        seen = s;
      } catch {
        // a half-written state: keep serving the last complete one and look again next time
      }
    }
    return platform;
  }
  const collateral = async (): Promise<SimCollateral> => (await current()).collateral({ now: now() });
  const signingChainHeader = async () => encodeIssuerChainHeader((await collateral()).tcbInfoIssuerChain);

  async function checkEvaluation(q: SignedItemQuery): Promise<void> {
    if (q.tcbEvaluationDataNumber === undefined) return;
    const latest = (await current()).record.tcbEvaluationDataNumber;
    if (q.tcbEvaluationDataNumber > latest) throw new PcsError('NOT_FOUND', `no TCB evaluation data number ${q.tcbEvaluationDataNumber}`);
    if (q.tcbEvaluationDataNumber < latest) {
      throw new PcsError('HTTP_STATUS', `TCB evaluation data number ${q.tcbEvaluationDataNumber} is no longer available`, { status: 410 });
    }
  }

  return {
    mode: 'sim',
    simulated: true,
    async tcbInfo(tee, fmspc, q) {
      const c = await collateral();
      if (tee !== 'SGX' || fmspc.toUpperCase() !== c.fmspc) {
        throw new PcsError('NOT_FOUND', `no ${tee} TCB info for FMSPC ${fmspc.toUpperCase()} (this simulated platform is SGX FMSPC ${c.fmspc})`);
      }
      await checkEvaluation(q);
      return { body: c.tcbInfoPcsBody, contentType: 'application/json', headers: { 'TCB-Info-Issuer-Chain': await signingChainHeader() } };
    },
    async qeIdentity(tee, q) {
      if (tee !== 'SGX') throw new PcsError('NOT_FOUND', 'this simulated platform has no TD QE');
      await checkEvaluation(q);
      const c = await collateral();
      return { body: c.qeIdentityPcsBody, contentType: 'application/json', headers: { 'SGX-Enclave-Identity-Issuer-Chain': await signingChainHeader() } };
    },
    async pckCrl(ca, encoding) {
      const c = await collateral();
      if (ca !== c.caType) throw new PcsError('NOT_FOUND', `this simulated platform's PCK certificates come from the ${c.caType} CA`);
      const headers = { 'SGX-PCK-CRL-Issuer-Chain': encodeIssuerChainHeader(c.pckCrlIssuerChain) };
      return encoding === 'der'
        ? { body: c.pckCrl, contentType: 'application/pkix-crl', headers }
        : { body: derCrlToPem(c.pckCrl), contentType: 'application/x-pem-file', headers };
    },
    async rootCaCrl() {
      const c = await collateral();
      return { body: c.rootCaCrl.toString('hex'), contentType: 'text/plain', headers: {} };
    },
    async pckCert(q): Promise<ServedItem> {
      const c = await collateral();
      const rec = platform.record;
      if (q.qeid !== undefined && q.qeid.toLowerCase() !== rec.qeId.toString('hex')) {
        throw new PcsError('NOT_FOUND', 'no PCK certificate for this QE id on the simulated platform');
      }
      if (q.pceid.toLowerCase() !== rec.pceId.toString('hex')) throw new PcsError('NOT_FOUND', 'no PCK certificate for this PCE id');
      const pceSvnLe = Buffer.alloc(2);
      pceSvnLe.writeUInt16LE(rec.pceSvn);
      return {
        body: c.pckCertPem,
        contentType: 'application/x-pem-file',
        headers: {
          'SGX-PCK-Certificate-Issuer-Chain': encodeIssuerChainHeader(c.pckCertIssuerChain),
          'SGX-TCBm': Buffer.concat([rec.cpuSvn, pceSvnLe]).toString('hex').toUpperCase(),
          'SGX-FMSPC': c.fmspc,
          'SGX-PCK-Certificate-CA-Type': c.caType,
        },
      };
    },
  };
}
