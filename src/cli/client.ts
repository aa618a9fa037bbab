import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import {
  AesmClient,
  AesmClientError,
  AesmClientOptionError,
  DEFAULT_RETRY_DEADLINE_MS,
  DEFAULT_TIMEOUT_MS,
} from '../client/index.js';
import {
  DEFAULT_ECDSA_P256_ATT_KEY_ID,
  attKeyIdBase,
  describeAttributeFlags,
  parseAttKeyIdExt,
  parseTargetInfo,
  SGX_QL_ALG_ECDSA_P256,
  SGX_QL_ALG_ECDSA_P384,
  SGX_QL_ALG_EPID,
} from '../sgx/index.js';
import { CliError, EXIT_BAD_INPUT, EXIT_FAILURE } from './cli-error.js';
import { DemoInputError, parseHexField } from '../demo/hex-input.js';
import { DEFAULT_APP_ATTRIBUTES, quoteFromSimEnclave, SimAppEnclave } from '../demo/sim-app-enclave.js';
import { readReportKey, resolveStateDir, SimInputError, SimStateError } from '../providers/sim/index.js';

/** Options every client command shares. */
export interface ClientCliOptions {
  socket?: string;
  timeout?: string;
  wait?: string;
}

/** Add --socket/--timeout/--wait to a client command. */
export function withClientOptions(cmd: Command): Command {
  return cmd
    .option('--socket <path>', 'AESM socket (default: $SQH_SOCKET, then /var/run/aesmd/aesm.socket)')
    .option('--timeout <ms>', `per-call timeout in ms (default ${DEFAULT_TIMEOUT_MS})`)
    .option('--wait <ms>', `keep retrying a missing/refusing socket this long, in ms (default ${DEFAULT_RETRY_DEADLINE_MS})`);
}

export function clientFromOptions(opts: ClientCliOptions): AesmClient {
  try {
    return new AesmClient({
      socketPath: opts.socket,
      timeoutMs: opts.timeout === undefined ? undefined : intOption('--timeout', opts.timeout, 1),
      retryDeadlineMs: opts.wait === undefined ? undefined : intOption('--wait', opts.wait, 0),
    });
  } catch (e) {
    if (e instanceof AesmClientOptionError) throw new CliError(e.message, EXIT_BAD_INPUT);
    throw e;
  }
}

export function intOption(flag: string, value: string, min: number, max = 0x7fffffff): number {
  if (!/^\d+$/.test(value)) throw new CliError(`${flag} must be a whole number, got '${value}'`, EXIT_BAD_INPUT);
  const n = Number(value);
  if (n < min || n > max) throw new CliError(`${flag} must be between ${min} and ${max}, got ${n}`, EXIT_BAD_INPUT);
  return n;
}

/** Turn a client failure into the CLI's one line: what failed, every code, and what to check. */
export function cliErrorFromClient(e: unknown): unknown {
  if (!(e instanceof AesmClientError)) return e;
  return new CliError(e.describe(), e.kind === 'invalid-argument' ? EXIT_BAD_INPUT : EXIT_FAILURE);
}

export type OutputFormat = 'hex' | 'base64' | 'binary';

export function parseFormat(value: string | undefined, allowed: readonly OutputFormat[], fallback: OutputFormat): OutputFormat {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new CliError(`--format must be one of ${allowed.join(', ')}, got '${value}'`, EXIT_BAD_INPUT);
  }
  return value as OutputFormat;
}

/** Write bytes to a file (binary by default) or, without --out, as text to stdout. */
export function emit(bytes: Buffer, out: string | undefined, format: OutputFormat): void {
  const data = format === 'hex' ? `${bytes.toString('hex')}\n` : format === 'base64' ? `${bytes.toString('base64')}\n` : bytes;
  if (out === undefined) {
    process.stdout.write(data);
    return;
  }
  try {
    writeFileSync(out, data);
  } catch (e) {
    throw new CliError(`cannot write ${out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, EXIT_FAILURE);
  }
}

function algorithmName(id: number): string {
  switch (id) {
    case SGX_QL_ALG_EPID:
      return 'EPID';
    case SGX_QL_ALG_ECDSA_P256:
      return 'ECDSA-P256';
    case SGX_QL_ALG_ECDSA_P384:
      return 'ECDSA-P384';
    default:
      return `unknown(${id})`;
  }
}

function registerTargetInfo(program: Command): void {
  withClientOptions(
    program
      .command('targetinfo')
      .description("Fetch the QE's target info from the daemon (the DCAP library's sgx_qe_get_target_info sequence)")
      .option('--out <file>', 'write to a file instead of stdout')
      .option('--format <fmt>', 'hex | base64 | binary (default: binary with --out, hex on stdout)'),
  ).action(async (opts: ClientCliOptions & { out?: string; format?: string }) => {
    const format = parseFormat(opts.format, ['hex', 'base64', 'binary'], opts.out ? 'binary' : 'hex');
    if (format === 'binary' && opts.out === undefined && process.stdout.isTTY) {
      throw new CliError('refusing to write binary to a terminal: use --out FILE or --format hex', EXIT_BAD_INPUT);
    }
    const client = clientFromOptions(opts);
    const targetInfo = await client.getTargetInfo().catch((e: unknown) => {
      throw cliErrorFromClient(e);
    });
    emit(targetInfo, opts.out, format);
    const ti = parseTargetInfo(targetInfo);
    process.stderr.write(
      `QE target info from ${client.socketPath}: MRENCLAVE ${ti.mrEnclave.toString('hex')}, ` +
        `attributes ${describeAttributeFlags(ti.attributes).join('|') || 'none'}` +
        (opts.out ? `, written to ${opts.out}` : '') +
        '\n',
    );
  });
}

function registerKeyIds(program: Command): void {
  withClientOptions(
    program
      .command('keyids')
      .description('List the attestation key ids the daemon supports (GetSupportedAttKeyIDNum + GetSupportedAttKeyIDs), decoded')
      .option('--json', 'print JSON instead of text'),
  ).action(async (opts: ClientCliOptions & { json?: boolean }) => {
    const client = clientFromOptions(opts);
    const ids = await client.getSupportedAttKeyIds().catch((e: unknown) => {
      throw cliErrorFromClient(e);
    });
    const defaultBase = attKeyIdBase(DEFAULT_ECDSA_P256_ATT_KEY_ID);
    const decoded = ids.map((raw, index) => {
      const k = parseAttKeyIdExt(raw);
      return {
        index,
        algorithm: algorithmName(k.base.algorithmId),
        algorithmId: k.base.algorithmId,
        prodId: k.base.prodId,
        mrsigner: k.base.mrsigner.subarray(0, Math.min(k.base.mrsignerLength, k.base.mrsigner.length)).toString('hex'),
        attKeyType: k.attKeyType,
        intelDefaultEcdsa: attKeyIdBase(raw).equals(defaultBase),
        hex: raw.toString('hex'),
      };
    });
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ socket: client.socketPath, attKeyIds: decoded }, null, 2)}\n`);
      return;
    }
    process.stdout.write(`${decoded.length} attestation key id(s) at ${client.socketPath}:\n`);
    for (const d of decoded) {
      process.stdout.write(
        `  [${d.index}] ${d.algorithm} (algorithm_id ${d.algorithmId}), prod_id ${d.prodId}, att_key_type ${d.attKeyType}\n` +
          `      QE MRSIGNER ${d.mrsigner}${d.intelDefaultEcdsa ? "  (Intel's default ECDSA-P256 QE3 key id)" : ''}\n`,
      );
    }
  });
}

interface QuoteCliOptions extends ClientCliOptions {
  mrenclave: string;
  mrsigner: string;
  reportData: string;
  stateDir?: string;
  isvProdId?: string;
  isvSvn?: string;
  out: string;
  format?: string;
  qeReportInfo?: boolean;
}

function inputError(e: unknown): unknown {
  if (e instanceof DemoInputError || e instanceof SimInputError) return new CliError(e.message, EXIT_BAD_INPUT);
  if (e instanceof SimStateError) return new CliError(e.message, EXIT_FAILURE);
  return e;
}

function registerQuote(program: Command): void {
  withClientOptions(
    program
      .command('quote')
      .description(
        'SIMULATED enclave: make a REPORT for the QE (sim platform secret from --state-dir), ask the daemon for a quote, write it',
      )
      .requiredOption('--mrenclave <hex>', "the simulated enclave's MRENCLAVE (32 bytes)")
      .requiredOption('--mrsigner <hex>', "the simulated enclave's MRSIGNER (32 bytes)")
      .requiredOption('--report-data <hex>', 'report data, up to 64 bytes (zero-padded)')
      .requiredOption('--out <file>', 'where to write the quote')
      .option('--state-dir <dir>', "the daemon's sim state dir (default: $SQH_STATE_DIR, /var/lib/sgx-quote-helper/sim, XDG)")
      .option('--isv-prod-id <n>', 'ISV product id (default 0)')
      .option('--isv-svn <n>', 'ISV SVN (default 0)')
      .option('--format <fmt>', 'binary | hex | base64 (default binary)')
      .option('--qe-report-info', 'ask for the QE report back and check it (report data binding and MAC)'),
  ).action(async (opts: QuoteCliOptions) => {
    const format = parseFormat(opts.format, ['binary', 'hex', 'base64'], 'binary');
    try {
      const identity = {
        mrEnclave: parseHexField('--mrenclave', opts.mrenclave, { exact: 32 }),
        mrSigner: parseHexField('--mrsigner', opts.mrsigner, { exact: 32 }),
        isvProdId: opts.isvProdId === undefined ? 0 : intOption('--isv-prod-id', opts.isvProdId, 0, 0xffff),
        isvSvn: opts.isvSvn === undefined ? 0 : intOption('--isv-svn', opts.isvSvn, 0, 0xffff),
        attributes: DEFAULT_APP_ATTRIBUTES,
      };
      const reportData = parseHexField('--report-data', opts.reportData, { max: 64 });
      const client = clientFromOptions(opts);
      const enclave = new SimAppEnclave(readReportKey(resolveStateDir(opts.stateDir)), identity);
      const outcome = await quoteFromSimEnclave(client, enclave, reportData, { withQeReportInfo: opts.qeReportInfo === true }).catch(
        (e: unknown) => {
          if (e instanceof AesmClientError && (e.aesmCode === 47 || e.aesmCode === 45)) {
            throw new CliError(
              `${e.describe()}; is --state-dir the state dir of the daemon's sim platform (${resolveStateDir(opts.stateDir)})?`,
              EXIT_FAILURE,
            );
          }
          throw cliErrorFromClient(e);
        },
      );
      if (outcome.qeReport && !(outcome.qeReport.bindingOk && outcome.qeReport.macOk)) {
        const why = !outcome.qeReport.bindingOk
          ? `its report data does not bind the quote (${outcome.qeReport.bindingFailure})`
          : 'its MAC does not verify for this enclave';
        throw new CliError(`the QE report returned with the quote is wrong: ${why}; the quote was not written`, EXIT_FAILURE);
      }
      emit(outcome.quote, opts.out, format);
      process.stderr.write(
        `SIMULATED quote, ${outcome.quote.length} bytes, written to ${opts.out} (${format})` +
          (outcome.qeReport ? '; QE report checked: report data = SHA-256(nonce ‖ quote) ‖ 0, MAC ok' : '') +
          '\n',
      );
    } catch (e) {
      throw inputError(e);
    }
  });
}

/** Registers `targetinfo`, `keyids` and `quote`. */
export function register(program: Command): void {
  registerTargetInfo(program);
  registerKeyIds(program);
  registerQuote(program);
}
