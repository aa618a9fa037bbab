/**
 * Every code a user can see, with its likely causes and the fix: the AESM errorCode on the wire,
 * the sgx_status_t and quote3_error_t that Intel's client libraries return, the raw sgx_status_t and
 * quote3_error_t of Intel's DCAP library that the dcap provider logs and counts, the verifier's
 * reasons and the CLI's exit codes. docs/troubleshooting.md is generated from CODE_HINTS
 * (`npm run docs`), and test/docs/troubleshooting-codes.test.ts fails when one of the code tables
 * below has a value no hint covers.
 */
import { AESM_ERRORS } from '../aesm/errors.js';
import { Quote3Error, SgxStatus } from '../aesm/status-mapping.js';
import { QUOTE3_ERROR_NAMES, RAW_SGX_STATUS_NAMES } from '../providers/dcap/quote3-errors.js';
import { VerifyReasons } from '../verify/reasons.js';
import { EXIT_BAD_INPUT, EXIT_COLLATERAL, EXIT_FAILURE } from '../cli/cli-error.js';

export type CodeFamily = 'aesm' | 'sgx_status' | 'quote3' | 'verify' | 'exit';

export interface CodeHint {
  readonly family: CodeFamily;
  /** Numbers for aesm, sgx_status, quote3 and exit; reason strings for verify. */
  readonly codes: readonly (number | string)[];
  /** Where the user meets it (client return value, daemon log, metric label, verify result…). */
  readonly seenIn: string;
  readonly causes: string;
  readonly fix: string;
}

/** Every code of a family that the project's code defines (the list the hints must cover). */
export function knownCodes(family: CodeFamily): ReadonlyMap<number | string, string> {
  switch (family) {
    case 'aesm':
      return new Map(AESM_ERRORS.filter((e) => e.code !== 0).map((e) => [e.code, e.name]));
    case 'sgx_status':
      return new Map<number | string, string>([
        ...Object.entries(SgxStatus).filter(([, v]) => v !== 0).map(([n, v]) => [v, n] as [number, string]),
        ...RAW_SGX_STATUS_NAMES,
      ]);
    case 'quote3':
      return new Map<number | string, string>([
        ...Object.entries(Quote3Error).filter(([, v]) => v !== 0).map(([n, v]) => [v, n] as [number, string]),
        ...[...QUOTE3_ERROR_NAMES].filter(([v]) => v !== 0),
      ]);
    case 'verify':
      return new Map(VerifyReasons.map((r) => [r, r]));
    case 'exit':
      return new Map<number | string, string>([
        [0, 'success'],
        [EXIT_FAILURE, 'EXIT_FAILURE'],
        [EXIT_BAD_INPUT, 'EXIT_BAD_INPUT'],
        [EXIT_COLLATERAL, 'EXIT_COLLATERAL'],
      ]);
  }
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

const CLIENT = 'returned by Intel\'s libsgx_quote_ex (sgx_status_t) to the application';
const WRAPPER = 'returned by libsgx_dcap_ql (sgx_qe_*) to the application with SGX_AESM_ADDR set';
const NATIVE = 'dcap provider: daemon log (`native`), `sqh_dcap_native_calls_total{code}`, start-up error';
const WIRE = 'AESM errorCode: daemon log `code`/`result`, `sqh_aesm_requests_total{code}`, `sgx-quote-helper quote`';
const UPSTREAM_ONLY = 'never sent by this daemon\'s own providers; with `--provider upstream` it is passed through from the upstream aesmd';
const METRICS = 'look at the daemon\'s log line for the request (`detail`) and `sqh_provider_errors_total`';
const PCCS_FIX = 'check `pccs_url` in `/etc/sgx_default_qcnl.conf` (or `$QCNL_CONF_PATH`): inside a container `localhost` is the container itself; check proxy settings and that the PCCS is up; Intel\'s QCNL retries for about a minute, so keep `--dcap-warmup-timeout` above that';

export const CODE_HINTS: readonly CodeHint[] = [
  // ── AESM errorCode (what the daemon puts on the wire) ────────────────────────────────────────
  { family: 'aesm', codes: [1], seenIn: WIRE,
    causes: 'a provider failure that has no AESM code of its own (dcap: a native code aesmd also folds into 1, e.g. 0xE035 no access to `/dev/sgx_provision`, 0xE040/0xE047/0xE049 from the PCCS); a required field missing in a request',
    fix: `${METRICS}; with dcap, \`sqh_dcap_native_calls_total\` names the native code (see the quote3_error_t table)` },
  { family: 'aesm', codes: [2, 24, 25], seenIn: WIRE,
    causes: 'no usable SGX device on the host that answered (SGX disabled in the BIOS, driver missing, device not passed to the container)',
    fix: `${UPSTREAM_ONLY}; check \`/dev/sgx_enclave\` and \`/dev/sgx_provision\` where that service runs` },
  { family: 'aesm', codes: [3], seenIn: WIRE,
    causes: 'the request is inconsistent: a REPORT not 432 bytes, qe_report_info not 960, a `buf_size` that does not fit (smaller than the quote, not 32 for the key id), a malformed att_key_id_list, no att_key_id',
    fix: 'a client bug: use Intel\'s library or `src/client`; the daemon log (`detail`) says which field' },
  { family: 'aesm', codes: [4, 5, 6, 7, 8, 9, 10, 11, 16, 19, 20, 26, 28, 31], seenIn: WIRE,
    causes: 'EPID, launch-token or platform-services results (provisioning, sessions, revocation, platform info): not part of ECDSA (DCAP) quoting',
    fix: `${UPSTREAM_ONLY}; use ECDSA attestation (quote_ex with an ECDSA att key id)` },
  { family: 'aesm', codes: [12, 13, 14], seenIn: WIRE,
    causes: 'dcap provider: certifying the attestation key needed the PCK certificate and the quote provider library could not reach the PCCS (native 0xE019)',
    fix: PCCS_FIX },
  { family: 'aesm', codes: [15, 33], seenIn: WIRE,
    causes: 'dcap provider: an enclave image or a library file could not be read, or its path is too long for Intel\'s buffer (native 0xE006, 0xE005)',
    fix: 'check `--dcap-lib-dir`, `--dcap-qe3-path`, `--dcap-pce-path`, `--dcap-ide-path` and the files\' permissions for the daemon\'s user ([dcap](dcap.md))' },
  { family: 'aesm', codes: [17, 30], seenIn: WIRE,
    causes: 'a legacy request (EPID quote, launch token, white list, …) which this daemon answers with 30; the upstream provider cannot reach its `--upstream` socket; an aesmd that is still starting or stopping',
    fix: 'use the quote_ex (ECDSA) calls; with `--provider upstream` check that the upstream socket exists and answers (`/readyz` says why)' },
  { family: 'aesm', codes: [18], seenIn: WIRE,
    causes: 'the provider call (running or still queued) did not finish within `--provider-timeout` (10 s): a slow or hung upstream, a PCCS that takes long during certification, a stuck native call',
    fix: 'retry (the client treats it as busy); watch `sqh_provider_errors_total{code="18"}`, `sqh_provider_queue_length` and `sqh_dcap_native_call_stuck`' },
  { family: 'aesm', codes: [21], seenIn: WIRE,
    causes: 'GetQuoteEx asked for a reply buffer above 64 KiB (a real quote is about 5 KB), or the dcap library ran out of memory (native 0xE003)',
    fix: 'pass the size GetQuoteSizeEx returned; for dcap, check the daemon\'s memory limit' },
  { family: 'aesm', codes: [22], seenIn: WIRE,
    causes: 'dcap provider: the quote provider library reported a message error (native 0xE01A)',
    fix: 'check the QPL and its PCCS (versions, `/etc/sgx_default_qcnl.conf`)' },
  { family: 'aesm', codes: [23, 51], seenIn: WIRE,
    causes: 'aesmd internal errors (thread creation, an unsupported aesmd configuration)',
    fix: `${UPSTREAM_ONLY}; see that aesmd's log and \`/etc/aesmd.conf\`` },
  { family: 'aesm', codes: [29], seenIn: WIRE,
    causes: 'dcap provider: the enclave page cache is exhausted, so the QE3 or PCE could not be loaded (native 0xE012)',
    fix: 'fewer or smaller enclaves on the node, or a larger EPC (PRMRR size in the BIOS); requests succeed again once EPC is free' },
  { family: 'aesm', codes: [32, 34, 35, 37], seenIn: WIRE,
    causes: 'the QE3\'s attestation key blob does not match or cannot be used (native 0xE004, 0xE007, 0xE008, 0xE00A)',
    fix: 'restart the daemon: it generates and certifies a new key at start-up; clients then re-run InitQuoteEx' },
  { family: 'aesm', codes: [36, 39, 41], seenIn: WIRE,
    causes: 'dcap provider: the PCE signature scheme, the enclave load policy or a platform library is not supported by the installed DCAP version (native 0xE009, 0xE00C, 0xE00E)',
    fix: 'install matching versions of libsgx-dcap-ql, libsgx-qe3-logic and libsgx-pce-logic ([dcap](dcap.md))' },
  { family: 'aesm', codes: [38], seenIn: WIRE,
    causes: 'the client\'s att_key_id does not match the provider\'s key on its first 158 bytes (e.g. a debug-QE MRSIGNER, another algorithm); an aesmd whose QE3 failed to load offers no ECDSA key at all',
    fix: 'ask the daemon for its key ids (`sgx-quote-helper keyids`) and use one of them' },
  { family: 'aesm', codes: [40], seenIn: WIRE,
    causes: 'dcap provider: the PCE could not be loaded: no SGX device, `/dev/sgx_provision` not accessible to the daemon\'s user (group `sgx_prv`), or the PCE image is missing (native 0xE00D)',
    fix: 'give the daemon `/dev/sgx_enclave` and `/dev/sgx_provision` and membership in their groups (or run as root); check `--dcap-pce-path`' },
  { family: 'aesm', codes: [42], seenIn: WIRE,
    causes: 'the attestation key is not initialised or changed since the client\'s InitQuoteEx (`sim rotate-key`, a new platform)',
    fix: 'call InitQuoteEx again (`sgx_qe_get_target_info`); Intel\'s DCAP flow and Gramine do so on the next quote' },
  { family: 'aesm', codes: [43, 50], seenIn: WIRE,
    causes: 'certifying the attestation key with the PCE failed, or the certification data is invalid (native 0xE010, 0xE018: e.g. a TCB the PCE refuses)',
    fix: 'restart the daemon; if it persists, the platform may need a TCB recovery (BIOS/microcode update) and re-registration' },
  { family: 'aesm', codes: [44], seenIn: WIRE,
    causes: 'the PCCS has no PCK certificate for this platform (HTTP 404): the platform is not registered, or the PCCS has no Intel PCS API key',
    fix: 'register the platform with the PCCS (Intel\'s PCKIDRetrievalTool) and check the PCCS\'s PCS API key; then restart the daemon' },
  { family: 'aesm', codes: [45, 47, 49], seenIn: WIRE,
    causes: 'the REPORT was not made for the QE\'s target info, was damaged, or the QE could not make its report for the qe_report_info target; with the sim, the app used another platform\'s state dir',
    fix: 'run InitQuoteEx again and create the REPORT for the target info it returns; with the sim, point the app and `serve` at the same `--state-dir`' },
  { family: 'aesm', codes: [46, 48], seenIn: WIRE,
    causes: 'dcap provider: the QE3 was lost (power transition) or could not be loaded (image missing, no SGX device, `/dev` mounted noexec, no access to `/dev/sgx_provision`; native 0xE014, 0xE016)',
    fix: 'lost: retry; load error: check the device nodes, their groups, the QE3 image (`--dcap-qe3-path`) and that `/dev` is mounted exec' },

  // ── sgx_status_t (libsgx_quote_ex) and raw values from Intel's loader ───────────────────────
  { family: 'sgx_status', codes: [0x0001], seenIn: CLIENT,
    causes: 'the daemon closed the connection without a reply (malformed or oversized request, `--request-timeout`, a peer that never wrote), or answered AESM 1 or an AESM code the client has no name for',
    fix: '`sqh_aesm_frames_rejected_total{reason}` counts requests closed without a reply; `--log-level debug` logs each; otherwise see AESM 1' },
  { family: 'sgx_status', codes: [0x0002], seenIn: CLIENT,
    causes: 'AESM 3 (wrong request sizes) or a request the client could not serialise',
    fix: 'see AESM 3' },
  { family: 'sgx_status', codes: [0x0003], seenIn: CLIENT,
    causes: 'AESM 21 (reply buffer above 64 KiB asked for), or the client ran out of memory',
    fix: 'see AESM 21' },
  { family: 'sgx_status', codes: [0x2005], seenIn: CLIENT,
    causes: 'AESM 29: no EPC left for the quoting enclaves',
    fix: 'see AESM 29' },
  { family: 'sgx_status', codes: [0x2006], seenIn: CLIENT,
    causes: 'AESM 2: the service that answered has no SGX device',
    fix: 'see AESM 2' },
  { family: 'sgx_status', codes: [0x3001], seenIn: CLIENT,
    causes: 'AESM 45 or 47 from GetQuoteEx: the REPORT does not verify for the QE (made for another target info, or with the sim for another platform\'s state dir)',
    fix: 'see AESM 45/47' },
  { family: 'sgx_status', codes: [0x4001], seenIn: CLIENT,
    causes: 'connect() failed: no daemon on this node, the app container does not mount `/var/run/aesmd` (or mounts the socket file, which goes stale after a daemon restart), `EACCES` from `--socket-mode`/`--socket-group`; or AESM 17, 30, 46, 48',
    fix: 'run `sgx-quote-helper doctor --role app` in the app pod ([doctor](doctor.md)); `ls -l /var/run/aesmd/`; mount the directory, not the file' },
  { family: 'sgx_status', codes: [0x4002], seenIn: CLIENT,
    causes: 'no reply within the client\'s 15 s: the daemon answers AESM 18 after `--provider-timeout` (10 s) instead, so this means a daemon that stopped reading (overloaded node, stopped process) or a provider timeout raised above 15 s',
    fix: 'keep `--provider-timeout` below 15 s; check `/healthz` and the node\'s load' },
  { family: 'sgx_status', codes: [0x4003, 0x4005, 0x4006], seenIn: CLIENT,
    causes: 'EPID results (AESM 4, 5, 20)',
    fix: 'see the AESM EPID row: use ECDSA attestation' },
  { family: 'sgx_status', codes: [0x4007], seenIn: CLIENT,
    causes: 'AESM 12, 13, 14: the PCCS could not be reached while certifying the attestation key',
    fix: PCCS_FIX },
  { family: 'sgx_status', codes: [0x400a], seenIn: CLIENT,
    causes: 'AESM 18 (provider call past `--provider-timeout`) or 19',
    fix: 'retry; see AESM 18' },
  { family: 'sgx_status', codes: [0x4012], seenIn: CLIENT,
    causes: 'AESM 31 from an upstream aesmd (EPID platform not recognised)',
    fix: 'see the AESM EPID row' },
  { family: 'sgx_status', codes: [0x8001], seenIn: CLIENT,
    causes: 'AESM 38: the att_key_id does not match the daemon\'s key',
    fix: 'see AESM 38' },
  { family: 'sgx_status', codes: [0x8002], seenIn: CLIENT,
    causes: 'AESM 50 from InitQuoteEx: certifying the attestation key failed',
    fix: 'see AESM 43/50' },
  { family: 'sgx_status', codes: [0x8003], seenIn: CLIENT,
    causes: 'AESM 42: the attestation key changed since InitQuoteEx',
    fix: 'see AESM 42' },
  { family: 'sgx_status', codes: [0x8005], seenIn: CLIENT,
    causes: 'AESM 44 from InitQuoteEx: no PCK certificate data for this platform',
    fix: 'see AESM 44' },
  { family: 'sgx_status', codes: [0x0004, 0x2001, 0x200f, 0x3002], seenIn: NATIVE,
    causes: 'raw loader results of `load_qe`: enclave lost, invalid enclave image, enclave file not accessible, invalid attribute',
    fix: 'check the QE3 image (`--dcap-qe3-path`, package libsgx-ae-qe3) and that it matches the installed libraries' },
  { family: 'sgx_status', codes: [0x4004], seenIn: NATIVE,
    causes: 'raw `load_qe` result: the QE3 needs the PROVISIONKEY and the daemon cannot open `/dev/sgx_provision`',
    fix: 'add the daemon\'s user to group `sgx_prv` (or run as root) and pass `/dev/sgx_provision` to its container' },

  // ── quote3_error_t: what the DCAP wrapper returns out-of-process, and what the dcap provider logs ─
  { family: 'quote3', codes: [0xe001], seenIn: `${WRAPPER}; ${NATIVE}`,
    causes: 'out-of-process: any sgx_status_t without a DCAP equivalent, including 0x0001 (no reply), 0x3001 (REPORT MAC mismatch) and 0x2005 (out of EPC); natively: an unexpected QE3/PCE error',
    fix: 'find the daemon\'s log line for the request: its AESM `result` names the real cause (see the AESM table)' },
  { family: 'quote3', codes: [0xe002, 0xe003], seenIn: `${WRAPPER}; ${NATIVE}`,
    causes: 'invalid parameter or out of memory (AESM 3 / 21)',
    fix: 'see AESM 3 and 21' },
  { family: 'quote3', codes: [0xe00b], seenIn: `${WRAPPER}; ${NATIVE}`,
    causes: 'AESM 38: unsupported attestation key id',
    fix: 'see AESM 38' },
  { family: 'quote3', codes: [0xe00f], seenIn: `${WRAPPER}; ${NATIVE}`,
    causes: 'AESM 42: the attestation key is not initialised (a fresh dcap process before its first InitQuote, or a key that changed)',
    fix: 'see AESM 42' },
  { family: 'quote3', codes: [0xe010], seenIn: `${WRAPPER}; ${NATIVE}`,
    causes: 'out-of-process: 0x8002 (AESM 50, key certification failed); natively: the certification data is invalid',
    fix: 'see AESM 43/50' },
  { family: 'quote3', codes: [0xe011], seenIn: `${WRAPPER}; ${NATIVE}`,
    causes: 'no PCK certificate data for this platform: the PCCS answered 404 (platform not registered), or Azure\'s client got an HTTP error',
    fix: 'see AESM 44; with Azure\'s QPL check that the VM size supports DCAP and the THIM endpoint answers' },
  { family: 'quote3', codes: [0xe03e], seenIn: WRAPPER,
    causes: '`SGX_AESM_ADDR` is set (out-of-process mode) and the app called `sgx_ql_set_path`, `sgx_qe_set_enclave_load_policy` or `sgx_qe_cleanup_by_policy`, which only work in-process',
    fix: 'drop those calls when running against the daemon (the daemon owns the QE3 and PCE); or unset `SGX_AESM_ADDR` for in-process quoting' },
  { family: 'quote3', codes: [0xe03f], seenIn: WRAPPER,
    causes: 'AESM 2: the answering service has no SGX device',
    fix: 'see AESM 2' },
  { family: 'quote3', codes: [0xe040], seenIn: `${WRAPPER}; ${NATIVE}`,
    causes: 'out-of-process: connect() to `/var/run/aesmd/aesm.socket` failed (no daemon, directory not mounted, `EACCES`) or `libsgx_quote_ex.so.1` is missing from the app image; natively: the PCCS kept answering 503',
    fix: 'run `sgx-quote-helper doctor --role app` in the app pod ([doctor](doctor.md)); install `libsgx-quote-ex` in the app image; see 0x4001; for the native case see the PCCS fix under AESM 12' },
  { family: 'quote3', codes: [0xe041], seenIn: WRAPPER,
    causes: 'AESM 12, 13, 14: the PCCS could not be reached',
    fix: PCCS_FIX },
  { family: 'quote3', codes: [0xe042], seenIn: WRAPPER,
    causes: '0x4002: no reply within the client\'s 15 s',
    fix: 'see 0x4002' },
  { family: 'quote3', codes: [0xe043], seenIn: WRAPPER,
    causes: 'AESM 18: provider call past `--provider-timeout`',
    fix: 'retry; see AESM 18' },
  { family: 'quote3', codes: [0xe004, 0xe007, 0xe008, 0xe00a], seenIn: NATIVE,
    causes: 'the QE3 attestation key blob does not match or is damaged (sent as AESM 32, 34, 35, 37)',
    fix: 'restart the daemon (new key, certified at start-up)' },
  { family: 'quote3', codes: [0xe005, 0xe006], seenIn: NATIVE,
    causes: 'a path too long for Intel\'s buffer, or a file the library cannot read (AESM 33, 15)',
    fix: 'see AESM 15/33' },
  { family: 'quote3', codes: [0xe009, 0xe00c, 0xe00e], seenIn: NATIVE,
    causes: 'PCE signature scheme, load policy or platform library not supported by the installed DCAP version (AESM 36, 39, 41)',
    fix: 'install matching DCAP packages ([dcap](dcap.md))' },
  { family: 'quote3', codes: [0xe00d], seenIn: NATIVE,
    causes: 'the PCE could not be loaded: no SGX device, `/dev/sgx_provision` not accessible (group `sgx_prv`), PCE image missing (AESM 40)',
    fix: 'see AESM 40' },
  { family: 'quote3', codes: [0xe012], seenIn: NATIVE,
    causes: 'out of EPC (AESM 29)',
    fix: 'see AESM 29' },
  { family: 'quote3', codes: [0xe013, 0xe015, 0xe017], seenIn: NATIVE,
    causes: 'the REPORT was not made for the QE3, or the QE3 could not make its report (AESM 45, 47, 49); caused by the request, so the daemon stays ready',
    fix: 'see AESM 45/47/49' },
  { family: 'quote3', codes: [0xe014, 0xe016], seenIn: NATIVE,
    causes: 'the QE3 was lost or could not be loaded (AESM 46, 48)',
    fix: 'see AESM 46/48' },
  { family: 'quote3', codes: [0xe018], seenIn: NATIVE,
    causes: 'the PCE refused to certify the attestation key (invalid TCB) (AESM 50)',
    fix: 'see AESM 43/50' },
  { family: 'quote3', codes: [0xe019], seenIn: NATIVE,
    causes: 'the QPL could not reach the PCCS: connection refused, DNS, TLS handshake, timeout, HTTP 403, libcurl missing (AESM 12)',
    fix: PCCS_FIX },
  { family: 'quote3', codes: [0xe01a], seenIn: NATIVE,
    causes: 'the QPL reported a message error (AESM 22)',
    fix: 'see AESM 22' },
  { family: 'quote3', codes: [0xe035], seenIn: NATIVE,
    causes: 'the QE3 cannot get the PROVISIONKEY: the daemon cannot open `/dev/sgx_provision` (sent as AESM 1, as aesmd does)',
    fix: 'add the daemon\'s user to group `sgx_prv` (or run as root) and pass `/dev/sgx_provision` to its container' },
  { family: 'quote3', codes: [0xe044, 0xe046], seenIn: NATIVE,
    causes: 'the PCCS answered with an unexpected HTTP status or an unparseable body (sent as AESM 1)',
    fix: 'check the PCCS\'s version and logs; is `pccs_url` really a PCCS (v4 API)?' },
  { family: 'quote3', codes: [0xe047, 0xe049], seenIn: NATIVE,
    causes: 'the PCCS does not know this platform (HTTP 461) or has no certificates for it (462); Azure\'s client returns 0xE049 when every source failed (sent as AESM 1)',
    fix: 'register the platform with the PCCS; on Azure check the THIM/IMDS endpoint' },
  { family: 'quote3', codes: [0xe065], seenIn: NATIVE,
    causes: 'the QPL rejected the PCCS\'s TLS certificate (sent as AESM 1)',
    fix: 'give the PCCS a certificate the host trusts, or, for testing only, set `"use_secure_cert": false` in `/etc/sgx_default_qcnl.conf`' },
  { family: 'quote3', codes: [0xe067], seenIn: NATIVE,
    causes: '`/etc/sgx_default_qcnl.conf` (or `$QCNL_CONF_PATH`) is not valid JSON (sent as AESM 1)',
    fix: 'fix the file\'s JSON syntax (compare with the `sgx_default_qcnl.conf` shipped with the package)' },
  { family: 'quote3', codes: [...range(0xe01b, 0xe034), ...range(0xe037, 0xe03d), 0xe045, 0xe048, ...range(0xe050, 0xe053), ...range(0xe060, 0xe064), 0xe066, 0xe068, ...range(0xe070, 0xe073)], seenIn: 'Intel\'s QVL/QvE verification results (`sgx_qv_verify_quote`, `tee_verify_quote`), named in logs',
    causes: 'not produced by quote generation: another verifier judged a quote (TCB out of date, revoked, collateral expired or missing, QE identity mismatch, …)',
    fix: 'verify with `sgx-quote-helper verify`: its reasons (table below) say the same things by name' },

  // ── verifier reasons (`verify`, attestation service) ─────────────────────────────────────────
  { family: 'verify', codes: ['QUOTE_FORMAT'], seenIn: 'verify result `reason`',
    causes: 'not a quote: truncated, wrong version or TEE type, inconsistent lengths, unknown QE vendor id (often hex/base64 confusion or a quote cut by a buffer)',
    fix: '`sgx-quote-helper inspect` shows where parsing stopped; pass the whole quote the QE returned' },
  { family: 'verify', codes: ['CERTIFICATION_DATA_UNSUPPORTED'], seenIn: 'verify result `reason`',
    causes: 'the quote carries no PCK chain (certification type 3 = encrypted PPID: the dcap provider ran without a QPL) and the collateral has none',
    fix: 'install and configure a QPL for the daemon (`sqh_dcap_qpl_loaded` 1), or give collateral with the PCK chain' },
  { family: 'verify', codes: ['COLLATERAL_MISSING'], seenIn: 'verify result `reason`',
    causes: 'neither collateral nor a collateral source was given',
    fix: 'pass `--collateral FILE` or `--collateral-url URL` ([collateral](collateral.md))' },
  { family: 'verify', codes: ['COLLATERAL_UNAVAILABLE'], seenIn: 'verify result `reason`, exit code 3',
    causes: 'the collateral source failed (unreachable, timeout, 404 for this FMSPC, PCS API key rejected)',
    fix: 'check the URL and network; `collateral fetch` shows the HTTP answer; a `--cache` keeps working through outages' },
  { family: 'verify', codes: ['COLLATERAL_FORMAT', 'TCB_INFO_FORMAT', 'QE_IDENTITY_FORMAT', 'CRL_FORMAT', 'PCK_CHAIN_FORMAT', 'TCB_SIGNING_CHAIN_FORMAT', 'PCK_CERT_FORMAT'], seenIn: 'verify result `reason`',
    causes: 'a collateral item or certificate does not parse (a truncated download, an HTML error page saved as collateral, a PEM/DER mix-up, a non-SGX certificate)',
    fix: 'fetch the collateral again (`collateral refresh`); the result\'s message names the item' },
  { family: 'verify', codes: ['PCK_CHAIN_INVALID', 'TCB_SIGNING_CHAIN_INVALID', 'CRL_UNKNOWN_ISSUER', 'CRL_INVALID_EXTENSIONS', 'CRL_INVALID_SIGNATURE', 'TCB_INFO_INVALID_SIGNATURE', 'QE_IDENTITY_INVALID_SIGNATURE'], seenIn: 'verify result `reason`',
    causes: 'a chain, CRL or signed collateral document does not verify: mixed-up collateral from another CA (e.g. processor vs platform CA CRL), a tampered file',
    fix: 'use collateral from one source for one quote; refresh it' },
  { family: 'verify', codes: ['PCK_CHAIN_UNTRUSTED', 'TCB_SIGNING_CHAIN_UNTRUSTED'], seenIn: 'verify result `reason`',
    causes: 'the chain ends in a root that is not trusted: by default only Intel\'s production root is; simulated quotes chain to the sim\'s root',
    fix: 'for the sim pass `--trust-root` (`sim root --out sim-root.pem`): the result then says SIMULATED; never trust the sim root in production' },
  { family: 'verify', codes: ['PCK_CERT_EXPIRED', 'CRL_EXPIRED', 'SIGNING_CHAIN_EXPIRED', 'TCB_INFO_EXPIRED', 'QE_IDENTITY_EXPIRED'], seenIn: 'verify result (`collateralExpired`, reason)',
    causes: 'an item is past its validity (often the PCK CRL or TCB info `nextUpdate`): as in Intel\'s QvE this sets `collateralExpired` and the default policy rejects',
    fix: '`collateral refresh`; or accept it on purpose with `--allow-expired-collateral` ([verification](verification.md))' },
  { family: 'verify', codes: ['INTERMEDIATE_REVOKED', 'PCK_REVOKED', 'TCB_SIGNING_CERT_REVOKED'], seenIn: 'verify result `reason`',
    causes: 'Intel revoked a certificate in the chain (the platform\'s PCK key, its CA, or the TCB signing certificate)',
    fix: 'nothing to fix in the verifier: the platform must not be trusted; a revoked PCK needs a platform re-provisioning' },
  { family: 'verify', codes: ['TCB_INFO_MISMATCH'], seenIn: 'verify result `reason`',
    causes: 'the TCB info is for another FMSPC, PCE id or TEE type than the quote\'s PCK certificate',
    fix: 'fetch the TCB info for the FMSPC the quote names (`inspect` shows it)' },
  { family: 'verify', codes: ['TDX_MODULE_MISMATCH', 'TDX_MODULE_TCB_NOT_SUPPORTED'], seenIn: 'verify result `reason`',
    causes: 'a TDX quote whose module signer/attributes do not match the TDX module identity, or whose module SVN is below every level',
    fix: 'update the TDX module, or use the TCB info of this platform' },
  { family: 'verify', codes: ['INVALID_QE_REPORT_SIGNATURE', 'INVALID_QE_REPORT_DATA', 'INVALID_QUOTE_SIGNATURE'], seenIn: 'verify result `reason`',
    causes: 'a signature of the quote does not verify: the quote was modified after the QE signed it, or the PCK chain belongs to another platform',
    fix: 'do not trust this quote; get a fresh one and pass it unchanged' },
  { family: 'verify', codes: ['QE_IDENTITY_MISMATCH', 'QE_TCB_NOT_SUPPORTED'], seenIn: 'verify result `reason`',
    causes: 'the quoting enclave is not Intel\'s QE3 as the QE identity describes it (another MRSIGNER, e.g. a debug QE; or the SIMULATED QE against Intel\'s identity), or its SVN is below every level',
    fix: 'use Intel\'s production QE3; with the sim, use the sim\'s own collateral' },
  { family: 'verify', codes: ['TCB_NOT_SUPPORTED'], seenIn: 'verify result `reason`',
    causes: 'the platform\'s TCB is below every level in the TCB info',
    fix: 'a platform update (BIOS/microcode) is needed; nothing to fix in the verifier' },
  { family: 'verify', codes: ['TCB_REVOKED'], seenIn: 'verify result `reason`',
    causes: 'the platform, QE or TDX module TCB level is Revoked by Intel',
    fix: 'update the platform; until then it must not be trusted' },
  { family: 'verify', codes: ['UNEXPECTED_ERROR'], seenIn: 'verify result `reason`',
    causes: 'an internal error while checking hostile input (reported as a result, never thrown)',
    fix: 'please report it with the quote and collateral (`SQH_DEBUG=1` adds a stack trace)' },

  // ── exit codes of the CLI ─────────────────────────────────────────────────────────────────────
  { family: 'exit', codes: [0], seenIn: 'every command',
    causes: 'success (`verify`: the quote was accepted by the policy; `serve`: drained after SIGTERM or a handover)',
    fix: '—' },
  { family: 'exit', codes: [EXIT_FAILURE], seenIn: 'every command',
    causes: 'the operation ran and failed: `verify` rejected the quote; `serve` could not start its provider (dcap host not ready), found a foreign AESM service or an unsafe directory at the socket path, or its socket was removed',
    fix: 'the one-line message on stderr says what and how to fix it; for `serve` start with `sgx-quote-helper doctor` ([doctor](doctor.md))' },
  { family: 'exit', codes: [EXIT_BAD_INPUT], seenIn: 'every command',
    causes: 'bad input or usage: an invalid setting (the message names it as given: flag, env var or config key, the value and what is allowed), an unreadable or malformed file, an unknown command or flag, a sim state dir without a platform',
    fix: 'correct the named value; `sgx-quote-helper <command> --help` lists every setting with its env var and default' },
  { family: 'exit', codes: [EXIT_COLLATERAL], seenIn: '`verify`',
    causes: 'collateral could not be fetched (service unreachable, timeout, not found), so nothing was judged',
    fix: 'see COLLATERAL_UNAVAILABLE' },
];

const familyKey = (family: CodeFamily, code: number | string): string => `${family}:${code}`;
const HINT_BY_CODE = new Map<string, CodeHint>(CODE_HINTS.flatMap((h) => h.codes.map((c) => [familyKey(h.family, c), h] as [string, CodeHint])));

/** The hint for one code, e.g. hintFor('quote3', 0xe019). */
export function hintFor(family: CodeFamily, code: number | string): CodeHint | undefined {
  return HINT_BY_CODE.get(familyKey(family, code));
}
