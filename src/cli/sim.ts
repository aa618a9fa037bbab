import type { Command } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseAttributes, REPORT_SIZE, TARGET_INFO_SIZE } from '../sgx/index.js';
import {
  readReportKey,
  resolveStateDir,
  ereport,
  SimInputError,
  SimPlatform,
  SimStateError,
  TCB_PROFILE_DESCRIPTIONS,
  TCB_PROFILES,
  parseTcbProfile,
  toDcapQvlCollateral,
  toPcsBundle,
  StateFiles,
  type SimPlatformIdentity,
} from '../providers/sim/index.js';
import { CliError, EXIT_BAD_INPUT, EXIT_FAILURE } from './cli-error.js';

/**
 * `sgx-quote-helper sim …`: manage the simulated SGX platform (development and CI only). Every line a
 * human reads says SIMULATED; machine outputs (collateral, root, report) go to --out files.
 */

const BANNER = 'SIMULATED SGX platform (sgx-quote-helper) — for development and CI only; its quotes prove nothing about real hardware';

function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Map library errors to one-line CLI errors with the right exit code. */
function cliErrorFrom(err: unknown): unknown {
  if (err instanceof SimStateError) {
    const usage = err.code === 'NOT_INITIALIZED' || err.code === 'ALREADY_INITIALIZED' || err.code === 'PARTIAL';
    return new CliError(`sim: ${err.message}`, usage ? EXIT_BAD_INPUT : EXIT_FAILURE);
  }
  if (err instanceof SimInputError) return new CliError(`sim: ${err.message}`, EXIT_BAD_INPUT);
  return err;
}

function wrap<A extends unknown[]>(fn: (...a: A) => Promise<void>): (...a: A) => Promise<void> {
  return async (...a: A) => {
    try {
      await fn(...a);
    } catch (err) {
      throw cliErrorFrom(err);
    }
  };
}

function hexArg(name: string, value: string | undefined, size: number, exact: boolean): Buffer {
  if (value === undefined) throw new CliError(`sim: ${name} is required`, EXIT_BAD_INPUT);
  const v = value.replace(/^0x/i, '');
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(v)) throw new CliError(`sim: ${name} must be hex (an even number of 0-9a-f digits)`, EXIT_BAD_INPUT);
  const b = Buffer.from(v, 'hex');
  if (exact ? b.length !== size : b.length > size) {
    throw new CliError(`sim: ${name} must be ${exact ? 'exactly' : 'at most'} ${size} bytes (${size * 2} hex digits), got ${b.length}`, EXIT_BAD_INPUT);
  }
  return b;
}

function u16Arg(name: string, value: string | undefined): number {
  if (value === undefined) return 0;
  const n = /^(0x[0-9a-f]+|\d+)$/i.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new CliError(`sim: ${name} must be an integer 0..65535, got "${value}"`, EXIT_BAD_INPUT);
  return n;
}

function profileArg(value: string): ReturnType<typeof parseTcbProfile> {
  try {
    return parseTcbProfile(value);
  } catch (err) {
    throw cliErrorFrom(err);
  }
}

function readInputFile(file: string, what: string): Buffer {
  try {
    return readFileSync(file === '-' ? 0 : file);
  } catch (err) {
    throw new CliError(`sim: cannot read ${what} ${file === '-' ? 'from stdin' : file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, EXIT_BAD_INPUT);
  }
}

function writeOutput(file: string, data: Buffer | string, what: string): void {
  try {
    if (file === '-') process.stdout.write(data);
    else writeFileSync(file, data);
  } catch (err) {
    throw new CliError(`sim: cannot write ${what} to ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, EXIT_FAILURE);
  }
}

function renderIdentity(id: SimPlatformIdentity): string {
  const lines = [
    BANNER,
    `state dir:        ${id.stateDir}`,
    `created:          ${id.createdAt}`,
    `TCB profile:      ${id.tcbProfile} (${TCB_PROFILE_DESCRIPTIONS[id.tcbProfile]})`,
    `FMSPC:            ${id.fmspc}   CA: ${id.caType}   PCE-ID: ${id.pceId}`,
    `PPID:             ${id.ppid}`,
    `QE_ID:            ${id.qeId}`,
    `CPUSVN:           ${id.cpuSvn}   PCESVN: ${id.pceSvn}`,
    `QE MRENCLAVE:     ${id.qe.mrEnclave}`,
    `QE MRSIGNER:      ${id.qe.mrSigner}`,
    `QE ISVPRODID/SVN: ${id.qe.isvProdId}/${id.qe.isvSvn}   attributes (flags:xfrm): ${id.qe.attributes}`,
    `PCK serial:       ${id.pckCertSerial} (starts with ASCII "SIMULATED")`,
    `root SHA-256:     ${id.rootCertSha256}`,
    `attestation key:  generation ${id.attestationKeyGeneration}, pub_key_id ${id.pubKeyId}`,
  ];
  return lines.join('\n') + '\n';
}

interface StateOpt {
  stateDir?: string;
}

const STATE_DIR_HELP = 'state directory (default: $SQH_STATE_DIR, /var/lib/sgx-quote-helper/sim if writable, else $XDG_STATE_HOME/sgx-quote-helper/sim)';

export function register(program: Command): void {
  const sim = program
    .command('sim')
    .description('SIMULATED SGX platform: software QE3/PCE, Intel-like PKI and collateral, TCB profiles (development and CI only)');

  sim
    .command('init')
    .description('create a simulated platform (identity, PKI, report-key secret, attestation key)')
    .option('--state-dir <dir>', STATE_DIR_HELP)
    .option('--tcb <profile>', `TCB profile: ${TCB_PROFILES.join('|')}`, 'UpToDate')
    .option('--ca <type>', 'PCK CA type: processor|platform', 'processor')
    .option('--fmspc <hex>', '6-byte FMSPC (default: random)')
    .option('--force', 'replace an existing platform (creates a NEW identity)')
    .action(wrap(async (o: StateOpt & { tcb: string; ca: string; fmspc?: string; force?: boolean }) => {
      const tcbProfile = profileArg(o.tcb);
      if (o.ca !== 'processor' && o.ca !== 'platform') throw new CliError(`sim: --ca must be processor or platform, got "${o.ca}"`, EXIT_BAD_INPUT);
      const fmspc = o.fmspc !== undefined ? hexArg('--fmspc', o.fmspc, 6, true) : undefined;
      const stateDir = resolveStateDir(o.stateDir);
      const p = await SimPlatform.init({ stateDir, tcbProfile, force: !!o.force, caType: o.ca, fmspc });
      process.stdout.write(renderIdentity(p.identity()));
      say(`SIMULATED platform created in ${stateDir}. Anyone who can read ${StateFiles.reportKey} there can forge reports for it.`);
    }));

  sim
    .command('show')
    .description('print the simulated platform identity')
    .option('--state-dir <dir>', STATE_DIR_HELP)
    .option('--json', 'print JSON')
    .action(wrap(async (o: StateOpt & { json?: boolean }) => {
      const p = await SimPlatform.load(resolveStateDir(o.stateDir));
      const id = p.identity();
      process.stdout.write(o.json ? `${JSON.stringify(id, null, 2)}\n` : renderIdentity(id));
    }));

  sim
    .command('set-tcb')
    .description('change the TCB profile the collateral reports (identity unchanged)')
    .argument('<profile>', TCB_PROFILES.join('|'))
    .option('--state-dir <dir>', STATE_DIR_HELP)
    .action(wrap(async (profile: string, o: StateOpt) => {
      const tcb = profileArg(profile);
      const p = await SimPlatform.load(resolveStateDir(o.stateDir));
      await p.setTcbProfile(tcb);
      say(`SIMULATED platform TCB profile is now ${tcb}: ${TCB_PROFILE_DESCRIPTIONS[tcb]}`);
    }));

  sim
    .command('rotate-key')
    .description('replace the attestation key; quote calls answer AESM 42 until InitQuoteEx runs again')
    .option('--state-dir <dir>', STATE_DIR_HELP)
    .action(wrap(async (o: StateOpt) => {
      const p = await SimPlatform.load(resolveStateDir(o.stateDir));
      const gen = await p.rotateKey();
      say(`SIMULATED attestation key rotated (generation ${gen}); clients must call InitQuoteEx (sgx_qe_get_target_info) again`);
    }));

  sim
    .command('report')
    .description('EREPORT from a simulated enclave: write a 432-byte sgx_report_t for the given target info')
    .option('--state-dir <dir>', `${STATE_DIR_HELP}; only ${StateFiles.reportKey} is read`)
    .requiredOption('--target-info <file>', '512-byte sgx_target_info_t of the target (e.g. the QE); "-" reads stdin')
    .requiredOption('--mrenclave <hex>', '32-byte MRENCLAVE of the simulated enclave')
    .requiredOption('--mrsigner <hex>', '32-byte MRSIGNER of the simulated enclave')
    .option('--isv-prod-id <n>', 'ISVPRODID (0..65535)', '0')
    .option('--isv-svn <n>', 'ISVSVN (0..65535)', '0')
    .option('--attributes <hex>', '16-byte attributes as laid out in the report (flags LE ‖ xfrm LE); default non-debug INIT|MODE64BIT', '0500000000000000e700000000000000')
    .requiredOption('--report-data <hex>', 'report data, up to 64 bytes (zero-padded)')
    .requiredOption('--out <file>', 'where to write the report ("-" for stdout)')
    .action(wrap(async (o: StateOpt & { targetInfo: string; mrenclave: string; mrsigner: string; isvProdId: string; isvSvn: string; attributes: string; reportData: string; out: string }) => {
      const mrEnclave = hexArg('--mrenclave', o.mrenclave, 32, true);
      const mrSigner = hexArg('--mrsigner', o.mrsigner, 32, true);
      const attributes = parseAttributes(hexArg('--attributes', o.attributes, 16, true));
      const reportData = hexArg('--report-data', o.reportData, 64, false);
      const isvProdId = u16Arg('--isv-prod-id', o.isvProdId);
      const isvSvn = u16Arg('--isv-svn', o.isvSvn);
      const targetInfo = readInputFile(o.targetInfo, 'target info');
      if (targetInfo.length !== TARGET_INFO_SIZE) {
        throw new CliError(`sim: target info must be ${TARGET_INFO_SIZE} bytes (sgx_target_info_t), ${o.targetInfo} has ${targetInfo.length}`, EXIT_BAD_INPUT);
      }
      const secret = readReportKey(resolveStateDir(o.stateDir));
      const report = ereport(secret, { targetInfo, mrEnclave, mrSigner, isvProdId, isvSvn, attributes, reportData });
      writeOutput(o.out, report, 'the report');
      say(`SIMULATED SGX report (${REPORT_SIZE} bytes) written to ${o.out === '-' ? 'stdout' : o.out}`);
    }));

  sim
    .command('collateral')
    .description("export the platform's collateral (TCB info, QE identity, CRLs, issuer chains)")
    .option('--state-dir <dir>', STATE_DIR_HELP)
    .requiredOption('--format <format>', 'pcs (PCS response bodies and headers) | dcap-qvl (QuoteCollateralV3 JSON)')
    .requiredOption('--out <file>', 'output file ("-" for stdout)')
    .option('--now <iso-date>', 'issue the collateral as of this time (default: now)')
    .action(wrap(async (o: StateOpt & { format: string; out: string; now?: string }) => {
      if (o.format !== 'pcs' && o.format !== 'dcap-qvl') throw new CliError(`sim: --format must be pcs or dcap-qvl, got "${o.format}"`, EXIT_BAD_INPUT);
      const now = o.now !== undefined ? new Date(o.now) : new Date();
      if (Number.isNaN(now.getTime())) throw new CliError(`sim: --now must be an ISO date, got "${o.now}"`, EXIT_BAD_INPUT);
      const p = await SimPlatform.load(resolveStateDir(o.stateDir));
      const c = await p.collateral({ now });
      const json = o.format === 'pcs' ? toPcsBundle(c) : toDcapQvlCollateral(c);
      writeOutput(o.out, `${JSON.stringify(json, null, 2)}\n`, 'the collateral');
      say(`SIMULATED collateral (${o.format}, FMSPC ${c.fmspc}, profile ${c.tcbProfile}, valid ${c.issueDate.toISOString()} → ${c.nextUpdate.toISOString()}) written to ${o.out === '-' ? 'stdout' : o.out}`);
    }));

  sim
    .command('root')
    .description('export the simulated root CA certificate (trust it only in test verifiers)')
    .option('--state-dir <dir>', STATE_DIR_HELP)
    .option('--der', 'write DER instead of PEM')
    .requiredOption('--out <file>', 'output file ("-" for stdout)')
    .action(wrap(async (o: StateOpt & { der?: boolean; out: string }) => {
      const p = await SimPlatform.load(resolveStateDir(o.stateDir));
      writeOutput(o.out, o.der ? p.rootCertDer : p.rootCertPem, 'the root certificate');
      say(`SIMULATED root CA (CN "Intel SGX Root CA" but NOT Intel's; SHA-256 ${p.identity().rootCertSha256}) written to ${o.out === '-' ? 'stdout' : o.out}`);
    }));
}
