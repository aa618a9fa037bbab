import type { PckCa, Tee } from './pcs-client.js';
import type { PckCertQuery } from './pcs-responses.js';

/** One answer of the collateral server, already in PCS shape. */
export interface ServedItem {
  body: string | Buffer;
  contentType: string;
  /** PCS headers (issuer chains already URL-encoded), e.g. `TCB-Info-Issuer-Chain`. */
  headers: Record<string, string>;
  /** Set when a proxy served an expired cached copy because the upstream failed. */
  stale?: { since: Date; error: string };
  /** 'hit' | 'miss' | 'stale' for proxies; absent for the simulator. */
  cache?: 'hit' | 'miss' | 'stale';
  /** The item is simulated even though the backend is a proxy (its upstream labelled it). */
  simulated?: boolean;
}

export interface SignedItemQuery {
  update?: 'early' | 'standard';
  tcbEvaluationDataNumber?: number;
}

/**
 * What the collateral server serves from: a simulated platform's state dir, or an upstream PCS/PCCS
 * through the cache. Failures are PcsError: NOT_FOUND → 404, HTTP_STATUS → same status, others → 502.
 */
export interface CollateralBackend {
  readonly mode: 'sim' | 'proxy';
  readonly simulated: boolean;
  tcbInfo(tee: Tee, fmspc: string, q: SignedItemQuery): Promise<ServedItem>;
  qeIdentity(tee: Tee, q: SignedItemQuery): Promise<ServedItem>;
  pckCrl(ca: PckCa, encoding: 'pem' | 'der'): Promise<ServedItem>;
  /** PCCS style: hex text of the DER root CA CRL. */
  rootCaCrl(): Promise<ServedItem>;
  pckCert(q: PckCertQuery): Promise<ServedItem>;
  /** Counters shown on /healthz (a proxy: cache faults met and answered from the upstream). */
  health?(): Record<string, number>;
  close?(): Promise<void> | void;
}

/** PEM of a DER CRL (PCS serves PEM unless `encoding=der`). */
export function derCrlToPem(der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN X509 CRL-----\n${b64}\n-----END X509 CRL-----\n`;
}
