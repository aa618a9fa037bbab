import { readFileSync } from 'node:fs';
import { createPublicKey, verify as cryptoVerify, X509Certificate } from 'node:crypto';

/** Real PCS answers and chains from test/fixtures/testdata (see PROVENANCE.md there). */
export { TESTDATA as TD } from '../../support/testdata.js';
import { TESTDATA as TD } from '../../support/testdata.js';

export function td(path: string): Buffer {
  return readFileSync(`${TD}/${path}`);
}
export function tdText(path: string): string {
  return readFileSync(`${TD}/${path}`, 'utf8');
}

/** go-tdx-guest: TDX TCB info for FMSPC 50806f000000, TD_QE identity, platform PCK CRL, root CRL. */
export const goTdx = {
  tcbInfoResponse: () => tdText('go-tdx-guest/sample_tcbInfo_response'),
  qeIdentityResponse: () => tdText('go-tdx-guest/sample_qeIdentity_response'),
  pckCrl: () => td('go-tdx-guest/pckcrl'),
  rootCrl: () => td('go-tdx-guest/rootcrl.der'),
  tcbChainPem: () => tdText('go-tdx-guest/tcbInfoIssuerChain.pem'),
  tcbChainEncoded: () => tdText('go-tdx-guest/tcbInfoIssuerChain.urlencoded.txt'),
  qeChainPem: () => tdText('go-tdx-guest/qeIdentityIssuerChain.pem'),
  qeChainEncoded: () => tdText('go-tdx-guest/qeIdentityIssuerChain.urlencoded.txt'),
  crlChainPem: () => tdText('go-tdx-guest/pckCrlIssuerChain.pem'),
  crlChainEncoded: () => tdText('go-tdx-guest/pckCrlIssuerChain.urlencoded.txt'),
  fmspc: '50806f000000',
};

/** mobilecoin: SGX TCB info for 00906ED50000, QE identity, processor CRL, root CRL (DER and PEM). */
export const mobilecoin = {
  tcbInfoResponse: () => tdText('mobilecoin/fmspc_00906ED50000_2023_07_12.json'),
  qeIdentityResponse: () => tdText('mobilecoin/qe_identity.json'),
  processorCrl: () => td('mobilecoin/processor_crl.der'),
  rootCrlDer: () => td('mobilecoin/root_crl.der'),
  rootCrlPem: () => tdText('mobilecoin/root_crl.pem'),
  signerChainPem: () => tdText('mobilecoin/tcb_signer.pem') + tdText('mobilecoin/root_ca.pem'),
  processorChainPem: () => tdText('mobilecoin/processor_ca.pem') + tdText('mobilecoin/root_ca.pem'),
  fmspc: '00906ED50000',
};

/** ECDSA-P256 check of a PCS signature (r‖s) over `body` with the first certificate of `chainPem`. */
export function pcsSignatureValid(chainPem: string, body: string | Buffer, signature: Buffer): boolean {
  const first = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(chainPem);
  if (!first) return false;
  const key = createPublicKey(new X509Certificate(first[0]).publicKey.export({ format: 'pem', type: 'spki' }));
  return cryptoVerify('sha256', Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'), { key, dsaEncoding: 'ieee-p1363' }, signature);
}
