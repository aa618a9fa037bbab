import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { pino } from 'pino';
import {
  ATTEST_SERVER_LIMITS,
  AttestError,
  KeyStoreError,
  PolicyFileError,
  defaultPolicy,
  parsePolicy,
  rotateStateKey,
  startAttestService,
  verifyAttestationToken,
  type AttestPolicy,
  type JwsAlgorithm,
  type KeySource,
} from '../attest/index.js';
import { ListenAddressError, TlsLoadError, parseListenAddress } from '../k8s/index.js';
import { VerifierConfigError } from '../verify/index.js';
import { collateralFromFlags, readTrustRoots, type CollateralChoice } from './collateral-options.js';
import { CliError, EXIT_BAD_INPUT, EXIT_FAILURE } from './cli-error.js';
import { parseSecondsFlag } from './durations.js';
import { addServerLimitOptions, serverLimitsFrom, type ServerLimitFlags } from './http-limit-flags.js';

interface ServeOptions extends ServerLimitFlags {
  listen: string;
  stateDir?: string;
  tlsCert?: string;
  tlsKey?: string;
  insecureHttp?: boolean;
  publicUrl?: string;
  trustRoot?: string[];
  collateralUrl?: string;
  collateralBundle?: string;
  cache?: string;
  policy?: string;
  signingKey?: string;
  signingCert?: string;
  previousSigningCert?: string[];
  keyAlg: string;
  tokenLifetime: string;
  collateralAt?: string;
  logLevel: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Token lifetimes: at least a second, at most a year and a day. */
const tokenLifetime = (v: string) => parseSecondsFlag(v, '--token-lifetime', { min: 1, max: 366 * 86_400, example: '8h' });

function keyAlg(v: string): JwsAlgorithm {
  if (v !== 'RS256' && v !== 'ES256') throw new CliError(`--key-alg ${JSON.stringify(v)} must be RS256 (MAA's, the default) or ES256`, EXIT_BAD_INPUT);
  return v;
}

function collateralFrom(o: ServeOptions): Promise<CollateralChoice> {
  return collateralFromFlags(o, { missing: 'no collateral: give --collateral-url URL (Intel PCS, a PCCS, Azure THIM, `collateral serve`) or --collateral-bundle FILE' });
}

function policyFrom(path: string | undefined): AttestPolicy {
  if (!path) return defaultPolicy();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CliError(`--policy ${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, EXIT_BAD_INPUT);
  }
  try {
    return parsePolicy(text, path);
  } catch (e) {
    if (e instanceof PolicyFileError) throw new CliError(`--policy: ${e.message}`, EXIT_BAD_INPUT);
    throw e;
  }
}

function keySourceFrom(o: ServeOptions): KeySource {
  if (o.signingKey || o.signingCert) {
    if (!o.signingKey || !o.signingCert) throw new CliError('--signing-key and --signing-cert go together (a key and its certificate chain, leaf first)', EXIT_BAD_INPUT);
    return { kind: 'files', keyFile: o.signingKey, certFile: o.signingCert, ...(o.previousSigningCert ? { previousCertFiles: o.previousSigningCert } : {}) };
  }
  if (o.previousSigningCert) throw new CliError('--previous-signing-cert needs --signing-key/--signing-cert', EXIT_BAD_INPUT);
  if (!o.stateDir) throw new CliError('give --state-dir DIR (keys are generated there on first start) or --signing-key F --signing-cert F', EXIT_BAD_INPUT);
  return { kind: 'state', stateDir: o.stateDir };
}

async function serve(o: ServeOptions): Promise<void> {
  let listen;
  try {
    listen = parseListenAddress(o.listen);
  } catch (e) {
    if (e instanceof ListenAddressError) throw new CliError(`--listen: ${e.message}`, EXIT_BAD_INPUT);
    throw e;
  }
  if (!o.publicUrl && (listen.host === '0.0.0.0' || listen.host === '::')) {
    throw new CliError(`--listen ${o.listen} listens on every address; give --public-url https://NAME:PORT, the URL clients use (it is the token issuer)`, EXIT_BAD_INPUT);
  }
  if (!!o.tlsCert !== !!o.tlsKey) throw new CliError('--tls-cert and --tls-key go together', EXIT_BAD_INPUT);
  if (!o.tlsCert && !o.insecureHttp) throw new CliError('give --tls-cert F --tls-key F, or --insecure-http for loopback development', EXIT_BAD_INPUT);
  if (o.tlsCert && o.insecureHttp) throw new CliError('give either TLS files or --insecure-http, not both', EXIT_BAD_INPUT);
  if (o.publicUrl && !/^https?:\/\/[^/?#\s]+(\/[^?#\s]*)?$/.test(o.publicUrl)) throw new CliError(`--public-url ${JSON.stringify(o.publicUrl)} must be an http(s) base URL`, EXIT_BAD_INPUT);
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (!levels.includes(o.logLevel)) throw new CliError(`--log-level: "${o.logLevel}" must be one of ${levels.join(', ')}`, EXIT_BAD_INPUT);
  const limits = serverLimitsFrom(o);
  let verifyAt: Date | undefined;
  if (o.collateralAt) {
    verifyAt = new Date(o.collateralAt);
    if (!/^\d{4}-\d{2}-\d{2}/.test(o.collateralAt) || Number.isNaN(verifyAt.getTime())) throw new CliError(`--collateral-at ${JSON.stringify(o.collateralAt)} is not an ISO 8601 time`, EXIT_BAD_INPUT);
  }
  const policy = policyFrom(o.policy);
  const keys = keySourceFrom(o);
  const lifetime = tokenLifetime(o.tokenLifetime);
  const alg = keyAlg(o.keyAlg);
  const roots = await readTrustRoots(o.trustRoot);
  const coll = await collateralFrom(o);
  const logger = pino({ name: 'sgx-quote-helper-attest', level: o.logLevel });

  let service;
  try {
    service = await startAttestService({
      listen,
      ...(o.tlsCert && o.tlsKey ? { tls: { certPath: o.tlsCert, keyPath: o.tlsKey } } : {}),
      ...(o.publicUrl ? { publicUrl: o.publicUrl } : {}),
      keys, keyAlgorithm: alg, policy, tokenLifetimeSeconds: lifetime,
      ...(coll.collateral ? { collateral: coll.collateral } : {}),
      ...(coll.source ? { source: coll.source } : {}),
      ...(roots ? { trustedRoots: roots } : {}),
      ...(verifyAt ? { verifyAt } : {}),
      limits,
      logger,
      defaultMetrics: true,
    });
  } catch (err) {
    coll.close?.();
    if (err instanceof TlsLoadError || err instanceof KeyStoreError || err instanceof AttestError) throw new CliError(err.message, EXIT_BAD_INPUT);
    if (err instanceof VerifierConfigError) throw new CliError(`--trust-root: ${err.message}`, EXIT_BAD_INPUT);
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') throw new CliError(`cannot listen (${e.code}): ${e.message}; choose another --listen`, EXIT_FAILURE);
    throw err;
  }
  // Runs until SIGTERM/SIGINT; SIGHUP re-reads the signing keys and TLS files at once.
  await new Promise<void>((resolve) => {
    const onHup = () => service.reload();
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      process.off('SIGHUP', onHup);
      service.close().finally(() => {
        coll.close?.();
        resolve();
      });
    };
    process.on('SIGHUP', onHup);
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

interface TokenOptions {
  issuer: string;
  json?: boolean;
  ca?: string;
  allowSimulated?: boolean;
  allowDebug?: boolean;
  mrenclave?: string[];
  mrsigner?: string[];
}

async function token(input: string, o: TokenOptions): Promise<number> {
  let text = input.trim();
  if (!/^[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/.test(text)) {
    if (!existsSync(input)) throw new CliError(`${input} is neither a token (three base64url parts) nor a readable file`, EXIT_BAD_INPUT);
    text = readFileSync(input, 'utf8').trim();
    // A saved attest response ({"token": "..."}) works as well as the bare token.
    if (text.startsWith('{')) {
      try {
        text = String((JSON.parse(text) as { token?: unknown }).token ?? '');
      } catch {
        throw new CliError(`${input}: JSON without a "token" field`, EXIT_BAD_INPUT);
      }
    }
  }
  if (!/^https?:\/\//.test(o.issuer)) throw new CliError(`--issuer ${JSON.stringify(o.issuer)} must be the issuer's base URL (http(s)://…)`, EXIT_BAD_INPUT);
  let ca: Buffer | undefined;
  if (o.ca) {
    try {
      ca = readFileSync(o.ca);
    } catch (e) {
      throw new CliError(`--ca ${o.ca}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, EXIT_BAD_INPUT);
    }
  }
  const r = await verifyAttestationToken(text, {
    issuer: o.issuer,
    ...(ca ? { fetch: { ca } } : {}),
    allowSimulated: o.allowSimulated === true,
    allowDebug: o.allowDebug === true,
    ...(o.mrenclave ? { expectedMrEnclave: o.mrenclave } : {}),
    ...(o.mrsigner ? { expectedMrSigner: o.mrsigner } : {}),
  });
  const claims = r.claims;
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ verified: r.ok, ...(r.ok ? {} : { reason: r.reason, message: r.message }), header: r.header, claims }, null, 2)}\n`);
  } else {
    const sim = claims?.['x-sqh-simulated'] === true ? ' — SIMULATED platform' : '';
    process.stdout.write(r.ok ? `VERIFIED: signed by ${o.issuer} (kid ${r.kid})${sim}\n` : `NOT VERIFIED: ${r.reason}: ${r.message}\n`);
    if (claims) {
      const names = Object.keys(claims).sort();
      for (const n of names) process.stdout.write(`  ${n}: ${JSON.stringify(claims[n])}\n`);
    }
  }
  return r.ok ? 0 : EXIT_FAILURE;
}

export function register(program: Command): void {
  const attest = program
    .command('attest')
    .description('Attestation service wire-compatible with Microsoft Azure Attestation: quote in, signed token out');

  const serveCmd = attest
    .command('serve')
    .description('Serve POST /attest/SgxEnclave|OpenEnclave|TdxVm, GET /certs, GET /.well-known/openid-configuration (MAA API)')
    .requiredOption('--listen <host:port>', 'address to listen on, e.g. 0.0.0.0:8443 ([::]:8443 for IPv6)')
    .option('--state-dir <dir>', 'signing keys are generated here on first start (files 0600) and rotated with `attest rotate-key`')
    .option('--tls-cert <file>', 'HTTPS certificate (PEM), re-read when it changes')
    .option('--tls-key <file>', 'HTTPS private key (PEM)')
    .option('--insecure-http', 'plain HTTP, only on a loopback address (development)')
    .option('--public-url <url>', 'the base URL clients use; the token issuer (default: the listen URL)')
    .option('--trust-root <file>', "trusted root (PEM or DER), repeatable; replaces Intel's root ('intel' keeps it). A simulator root makes tokens SIMULATED", collect)
    .option('--collateral-url <url>', 'collateral from a PCS v4-shaped service (Intel PCS, a PCCS, Azure THIM, `collateral serve`)')
    .option('--cache <file>', 'with --collateral-url: SQLite collateral cache (default $SQH_COLLATERAL_CACHE if set)')
    .option('--collateral-bundle <file>', 'collateral from a file (dcap-qvl JSON, our bundle, or a JSON array of them)')
    .option('--collateral-at <time>', 'evaluate collateral as of this ISO time instead of now (tests, forensics); tokens still carry the real time')
    .option('--policy <file>', 'policy JSON (accepted statuses, debug, MRSIGNER/MRENCLAVE/product id/min SVN, collateral expiry); default: MAA default SGX policy behaviour')
    .option('--signing-key <file>', 'load the signing key from this file (e.g. a Kubernetes Secret) instead of the state directory')
    .option('--signing-cert <file>', 'its certificate chain (PEM, leaf first)')
    .option('--previous-signing-cert <file>', 'a previous signing certificate to keep publishing in /certs (repeatable)', collect)
    .option('--key-alg <alg>', 'algorithm of keys generated in the state directory: RS256 or ES256', 'RS256')
    .option('--token-lifetime <duration>', 'token lifetime (seconds or e.g. 8h)', '8h')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace, silent', 'info');
  // The connection and request limits every HTTP server of ours takes (same flags as collateral serve, webhook serve).
  addServerLimitOptions(serveCmd, ATTEST_SERVER_LIMITS)
    .addHelpText('after', '\nExamples:\n' +
      '  sgx-quote-helper attest serve --listen 0.0.0.0:8443 --state-dir /var/lib/sqh-attest --tls-cert tls.crt --tls-key tls.key --collateral-url https://api.trustedservices.intel.com\n' +
      '  sgx-quote-helper attest serve --listen 127.0.0.1:8080 --insecure-http --state-dir ./attest --trust-root sim-root.pem --collateral-bundle sim-collateral.json   # SIMULATED\n')
    .action(async (o: ServeOptions) => serve(o));

  attest
    .command('token')
    .description("Verify a token strictly against the issuer's /certs and print its claims; exit 0 only when it verifies")
    .argument('<token-or-file>', 'the token, or a file holding it (or a saved {"token": …} response)')
    .requiredOption('--issuer <url>', 'the issuer base URL the token must come from')
    .option('--json', 'print {verified, reason, header, claims} as JSON')
    .option('--ca <file>', "CA certificate (PEM) for the issuer's HTTPS certificate")
    .option('--allow-simulated', 'accept tokens for SIMULATED platforms')
    .option('--allow-debug', 'accept debuggable enclaves')
    .option('--mrenclave <hex>', 'expected MRENCLAVE (repeatable)', collect)
    .option('--mrsigner <hex>', 'expected MRSIGNER (repeatable)', collect)
    .addHelpText('after', '\nExit codes: 0 verified, 1 not verified, 2 bad input.')
    .action(async (input: string, o: TokenOptions) => {
      const code = await token(input, o);
      if (code !== 0) process.exitCode = code;
    });

  attest
    .command('rotate-key')
    .description('Generate a new signing key in the state directory; the previous one stays in /certs for one token lifetime')
    .requiredOption('--state-dir <dir>', 'the service state directory')
    .requiredOption('--issuer <url>', "the service's base URL (written into the new certificate)")
    .option('--key-alg <alg>', 'RS256 or ES256', 'RS256')
    .option('--token-lifetime <duration>', 'the service token lifetime', '8h')
    .action(async (o: { stateDir: string; issuer: string; keyAlg: string; tokenLifetime: string }) => {
      try {
        const kid = await rotateStateKey({ stateDir: o.stateDir, issuer: o.issuer.replace(/\/+$/, ''), alg: keyAlg(o.keyAlg), tokenLifetimeSeconds: tokenLifetime(o.tokenLifetime) });
        process.stdout.write(`new signing key ${kid}; a running service picks it up within 10 s (or at once on SIGHUP)\n`);
      } catch (e) {
        if (e instanceof KeyStoreError) throw new CliError(e.message, EXIT_BAD_INPUT);
        throw e;
      }
    });
}
