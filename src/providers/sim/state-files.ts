/**
 * Names of the files in a simulated platform's state directory (docs/simulator.md lists them).
 * `platform.json` is written last and acts as the commit marker of a complete state.
 */
export const STATE_FORMAT_VERSION = 1;

export const StateFiles = {
  /** Public platform identity + TCB profile; written last (commit marker). */
  platform: 'platform.json',
  /** Report-key secret (base key, owner epoch, key id, CPUSVN): all a container needs to forge reports. */
  reportKey: 'report-key.json',
  /** The QE's attestation key and its generation counter (bumped by `sim rotate-key`). */
  attestationKey: 'attestation-key.json',
  rootCaCert: 'root-ca.cert.pem',
  rootCaKey: 'root-ca.key.pem',
  pckCaCert: 'pck-ca.cert.pem',
  pckCaKey: 'pck-ca.key.pem',
  pckCert: 'pck.cert.pem',
  pckKey: 'pck.key.pem',
  tcbSigningCert: 'tcb-signing.cert.pem',
  tcbSigningKey: 'tcb-signing.key.pem',
} as const;

export type StateFileKey = keyof typeof StateFiles;

/** Files holding secrets: written with mode 0600. */
export const SECRET_FILES: ReadonlySet<StateFileKey> = new Set<StateFileKey>([
  'reportKey',
  'attestationKey',
  'rootCaKey',
  'pckCaKey',
  'pckKey',
  'tcbSigningKey',
]);

/** Marks in every JSON state file so a stray file is never mistaken for state. */
export const STATE_KIND = {
  platform: 'sgx-quote-helper/sim-platform',
  reportKey: 'sgx-quote-helper/sim-report-key',
  attestationKey: 'sgx-quote-helper/sim-attestation-key',
} as const;

export const STATE_NOTICE = 'SIMULATED SGX platform state (sgx-quote-helper): development and CI only, never trust it';
