/**
 * One collateral set, exactly as a verifier needs it (the shape of Intel's `sgx_ql_qve_collateral_t`,
 * with the signed JSON bodies split from their signatures so the exact signed bytes are never re-serialised).
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

/** A collateral set as delivered by a source: `stale` when served past its nextUpdate (stale-while-revalidate). */
export type SourcedCollateral = Collateral & { fetchedAt?: Date; stale?: boolean };

/** What a verifier asks a collateral source for: the platform's FMSPC (12 hex), PCK CA type, and TEE. */
export interface CollateralQuery {
  fmspc: string;
  ca: 'processor' | 'platform';
  tee: 'SGX' | 'TDX';
}

/** Anything that can hand out collateral for a platform: PCS/PCCS client, SQLite cache, bundle file. */
export interface CollateralSource {
  get(q: CollateralQuery): Promise<SourcedCollateral>;
}
