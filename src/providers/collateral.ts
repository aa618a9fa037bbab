/**
 * One collateral set, exactly as a verifier needs it (the shape of Intel's `sgx_ql_qve_collateral_t`,
 * with the signed JSON bodies split from their signatures so the exact signed bytes are never re-serialised).
 *
 * Defined at the providers layer because both the simulated platform (which issues collateral) and
 * `src/pcs`/`src/verify` (which fetch and check it) need it, and providers must not import `pcs`.
 * `src/pcs/types.ts` re-exports it.
 */
export interface Collateral {
  /** Which TEE the TCB info / QE identity describe: SGX (`tcbInfo.id` "SGX" or v2) or TDX. */
  teeType: 'SGX' | 'TDX';
  /** PEM, the PCK CRL issuer (Processor/Platform CA) first, then the root. */
  pckCrlIssuerChain: string;
  /** DER of the Intel SGX Root CA CRL (revokes intermediates and the TCB signer). */
  rootCaCrl: Buffer;
  /** DER of the PCK CRL of the PCK certificate's issuing CA. */
  pckCrl: Buffer;
  /** PEM, TCB Signing certificate first, then the root. */
  tcbInfoIssuerChain: string;
  /** The exact inner `tcbInfo` JSON text that is signed (byte-exact, never re-serialised). */
  tcbInfoBody: string;
  /** 64 bytes r‖s (big-endian) over `tcbInfoBody`. */
  tcbInfoSignature: Buffer;
  /** PEM, TCB Signing certificate first, then the root. */
  qeIdentityIssuerChain: string;
  /** The exact inner `enclaveIdentity` JSON text that is signed. */
  qeIdentityBody: string;
  /** 64 bytes r‖s over `qeIdentityBody`. */
  qeIdentitySignature: Buffer;
  /** PEM leaf ‖ intermediate ‖ root, for quotes that carry no certification chain (cert types 1–4). */
  pckCertificateChain?: string;
}

/**
 * dcap-qvl `QuoteCollateralV3` JSON with hex strings (what `@phala/dcap-qvl` `verify()` takes): CRLs and
 * signatures as hex, the signed inner JSON texts verbatim. The parsing direction, with typed errors for
 * bad input, is `collateralFromDcapQvlJson` in `src/pcs/bundle.ts`.
 */
export function collateralToDcapQvlJson(c: Collateral): Record<string, string> {
  const out: Record<string, string> = {
    pck_crl_issuer_chain: c.pckCrlIssuerChain,
    root_ca_crl: c.rootCaCrl.toString('hex'),
    pck_crl: c.pckCrl.toString('hex'),
    tcb_info_issuer_chain: c.tcbInfoIssuerChain,
    tcb_info: c.tcbInfoBody,
    tcb_info_signature: c.tcbInfoSignature.toString('hex'),
    qe_identity_issuer_chain: c.qeIdentityIssuerChain,
    qe_identity: c.qeIdentityBody,
    qe_identity_signature: c.qeIdentitySignature.toString('hex'),
  };
  if (c.pckCertificateChain !== undefined) out.pck_certificate_chain = c.pckCertificateChain;
  return out;
}
