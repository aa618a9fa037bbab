import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { AesmClient } from '../client/index.js';
import { createPcsClient, createPcsCollateralSource } from '../pcs/index.js';
import { SimPlatform, StateFiles, type TcbProfile } from '../providers/sim/index.js';
import { parseQuote } from '../sgx/index.js';
import { verifyQuote, type VerificationResult } from '../verify/index.js';
import { CliProcess } from './cli-process.js';
import { formatMs, Story } from './story.js';
import { attestQuote, relyingPartyReleases, startAttestationService, tamperQuote, tamperToken, unwrapSecret, newEnclaveKey, type EnclaveKey } from './relying-party.js';

export interface DemoOptions {
  out: Writable;
  /** Keep the temporary directory (for inspection) instead of deleting it. */
  keep?: boolean;
  /** TCB profile of the simulated platform (default UpToDate). */
  tcbProfile?: TcbProfile;
}

/** The demo failed at a step; `message` says which and why. */
export class DemoError extends Error {
  override readonly name = 'DemoError';
  readonly code = 'DEMO_FAILED';
}

const ENCLAVE = {
  name: 'demo-enclave',
  mrEnclave: createHash('sha256').update('sgx-quote-helper demo enclave v1').digest(),
  mrSigner: createHash('sha256').update('sgx-quote-helper demo signer').digest(),
  isvProdId: 1,
  isvSvn: 2,
};

interface Running {
  dir?: string;
  daemon?: CliProcess;
  app?: CliProcess;
  collateral?: CliProcess;
  attest?: CliProcess;
  verifiers?: CliProcess[];
}

/**
 * The end-to-end demo, everything SIMULATED: a platform, its collateral server, the quote helper
 * daemon as a real child process, an "application container" (a separate process with
 * SGX_AESM_ADDR=1 and the socket) that gets a quote, and our verifier checking it against the
 * simulated root with collateral fetched over HTTP. Then the attestation half: the application
 * attests its quote with `attest serve` (a tampered quote gets no token), and a relying party
 * verifies the token strictly with `attest token` before it releases a secret wrapped to the
 * enclave's key (a tampered token is refused). Returns the exit code (0 only if all worked).
 * Processes and files are cleaned up on every path, including SIGINT/SIGTERM.
 */
export async function runDemo(opts: DemoOptions): Promise<number> {
  const story = new Story(opts.out, 9);
  const running: Running = {};
  let cleaned: Promise<string[]> | undefined;
  const cleanup = (): Promise<string[]> => (cleaned ??= cleanUp(running, opts.keep === true));
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    interrupted = true;
    story.line(`\n${sig}: stopping the demo and cleaning up…`);
    void cleanup()
      .then((notes) => notes.forEach((n) => story.line(`cleanup: ${n}`)))
      .finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const started = performance.now();
  story.line('sgx-quote-helper demo: out-of-process SGX quoting end to end');
  story.line('Everything below is SIMULATED: no SGX hardware, a simulated Intel-like PKI; nothing here is trustworthy.');
  story.line();
  let failure: unknown;
  try {
    await steps(story, running, opts);
  } catch (e) {
    failure = e ?? new DemoError('unknown failure');
  }
  // After a signal, a failing step is only the cleanup pulling processes away: the handler reports
  // and exits, so this run never returns.
  if (interrupted) return new Promise<number>(() => undefined);
  if (failure !== undefined) {
    story.line();
    story.line(`DEMO FAILED: ${failure instanceof Error ? failure.message : String(failure)}`);
  }
  const notes = await cleanup();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  story.line();
  for (const n of notes) story.line(`cleanup: ${n}`);
  const ok = failure === undefined;
  story.line(ok ? `DEMO OK (SIMULATED) in ${formatMs(performance.now() - started)}` : 'DEMO FAILED (SIMULATED run); see above');
  return ok ? 0 : 1;
}

async function steps(story: Story, running: Running, opts: DemoOptions): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sqh-demo-'));
  running.dir = dir;
  const platformDir = join(dir, 'node', 'sim-platform');
  const runDir = join(dir, 'node', 'run', 'aesmd'); // the node's /var/run/aesmd
  const socket = join(runDir, 'aesm.socket');
  const appDir = join(dir, 'app');
  mkdirSync(runDir, { recursive: true });
  mkdirSync(join(appDir, 'sim'), { recursive: true });
  // Children get our environment minus our own SQH_* settings, so nothing leaks in from the caller.
  const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SQH_') && k !== 'SGX_AESM_ADDR'));

  // 1. The node's simulated platform.
  const platform = await story.run('Simulated SGX platform', async () => {
    const p = await SimPlatform.init({ stateDir: platformDir, tcbProfile: opts.tcbProfile ?? 'UpToDate' });
    const id = p.identity();
    return {
      value: p,
      details: [`state dir ${platformDir}`, `FMSPC ${id.fmspc}, ${id.caType} CA, TCB profile ${id.tcbProfile} (SIMULATED)`],
    };
  });

  // The daemon starts now, beside the collateral server and the attestation service: process start-up
  // is most of the demo's time, and the daemon needs only the platform. Step 4 waits for its socket.
  const daemonStarted = performance.now();
  running.daemon = new CliProcess(
    'the daemon',
    ['serve', '--provider', 'sim', '--state-dir', platformDir, '--socket', socket, '--ops-listen', 'off', '--log-level', 'warn'],
    baseEnv,
  );

  // 2. The collateral server (PCS v4 endpoints) over the simulated PKI, as its own process.
  const baseUrl = await story.run('Collateral server (PCS v4 API)', async () => {
    running.collateral = new CliProcess(
      'the collateral server',
      ['collateral', 'serve', '--state-dir', platformDir, '--listen', '127.0.0.1:0', '--log-level', 'warn'],
      baseEnv,
    );
    const m = await running.collateral.waitFor(/collateral server listening on (http:\/\/[^\s]+?):? /, 15_000);
    const address = m[1] as string;
    return {
      value: address,
      details: [`\`collateral serve\`, pid ${running.collateral.child.pid}: ${address}/sgx/certification/v4/… serving SIMULATED collateral`],
    };
  });

  // 3. The attestation service (MAA API), as its own process, trusting the SIMULATED root explicitly.
  const issuer = await story.run('Attestation service (MAA API)', async () => {
    const url = await startAttestationService(running, { dir, rootCertPem: platform.rootCertPem, collateralUrl: baseUrl, env: baseEnv });
    return {
      value: url,
      details: [
        `\`attest serve\`, pid ${running.attest?.child.pid}: issuer ${url} (POST /attest/SgxEnclave, GET /certs)`,
        'trusts the SIMULATED root given with --trust-root, so every token it signs says "x-sqh-simulated": true',
      ],
    };
  });

  // 4. The quote helper daemon, as the DaemonSet would run it on the node.
  await story.run('Quote helper daemon (sim provider)', async () => {
    const daemon = running.daemon;
    if (!daemon) throw new DemoError('the daemon was not started');
    // The client retries while the socket does not exist yet: that wait is the daemon's start-up.
    const probe = new AesmClient({ socketPath: socket, retryDeadlineMs: 15_000, timeoutMs: 5_000 });
    const num = await Promise.race([
      probe.getSupportedAttKeyIdNum(),
      daemon.exited.then(() => {
        throw new DemoError(`the daemon exited during start-up: ${running.daemon?.tail()}`);
      }),
    ]);
    return {
      value: undefined,
      details: [
        `pid ${daemon.child.pid}, listening on ${socket} (the node's /var/run/aesmd/aesm.socket)`,
        `first answer ${formatMs(performance.now() - daemonStarted)} after its start: ${num} attestation key id (Intel's default ECDSA-P256)`,
      ],
    };
  });

  // 5. The application container: a separate process, configured as Azure's sample Job configures it.
  // The enclave's key pair goes into the runtime data, and the report data binds it as MAA binds it:
  // SHA-256(runtime data) ‖ 0³². The relying party wraps its secret to that key, so only this enclave
  // can read it. (SIMULATED: the demo holds the private key on the enclave's behalf.)
  const enclaveKey: EnclaveKey = await newEnclaveKey(randomBytes(16).toString('hex'));
  const reportData = Buffer.concat([createHash('sha256').update(enclaveKey.runtimeData).digest(), Buffer.alloc(32)]);
  const quoteFile = join(appDir, 'quote.bin');
  const quote = await story.run('Application container gets a quote', async () => {
    // The container mounts only the report-key secret of the simulated platform (what a SIMULATED
    // enclave needs to make reports); a real enclave would use EREPORT instead.
    copyFileSync(join(platformDir, StateFiles.reportKey), join(appDir, 'sim', StateFiles.reportKey));
    const t0 = performance.now();
    running.app = new CliProcess(
      'the application',
      [
        'quote',
        '--mrenclave', ENCLAVE.mrEnclave.toString('hex'),
        '--mrsigner', ENCLAVE.mrSigner.toString('hex'),
        '--isv-prod-id', String(ENCLAVE.isvProdId),
        '--isv-svn', String(ENCLAVE.isvSvn),
        '--report-data', reportData.toString('hex'),
        '--out', quoteFile,
        '--qe-report-info',
      ],
      { ...baseEnv, SGX_AESM_ADDR: '1', SQH_SOCKET: socket, SQH_STATE_DIR: join(appDir, 'sim') },
    );
    const { code } = await running.app.exited;
    if (code !== 0) throw new DemoError(`the application failed (exit ${code}): ${running.app.tail(3)}`);
    const bytes = readFileSync(quoteFile);
    return {
      value: bytes,
      details: [
        'env SGX_AESM_ADDR=1 (Azure sample Job): only switches Intel\'s DCAP library to out-of-process mode;',
        '  any value does, it is never an address. The socket comes from the node via the /var/run/aesmd mount',
        `  (here SQH_SOCKET=${socket}, since a demo cannot mount over /var/run/aesmd).`,
        'wire: InitQuoteEx ×2 (target info) → enclave REPORT → GetQuoteSizeEx → GetQuoteEx, one connection each',
        `${bytes.length}-byte quote in ${formatMs(performance.now() - t0)} (process start included); ` +
          'QE report checked: report data = SHA-256(nonce ‖ quote) ‖ 0, MAC ok',
      ],
    };
  });

  // 6. The relying party verifies, fetching collateral over HTTP.
  const result = await story.run('Relying party verifies the quote', async () => {
    const source = createPcsCollateralSource({ client: createPcsClient({ baseUrl }) });
    const t0 = performance.now();
    const r = await verifyQuote(quote, { source, trustedRoots: [platform.rootCertPem] });
    const verifyMs = performance.now() - t0;
    if (!r.ok) throw new DemoError(`verification failed: ${r.reason ?? r.status}: ${r.message ?? ''}`);
    const intel = await verifyQuote(quote, { source });
    if (intel.ok) throw new DemoError('the SIMULATED quote verified under Intel\'s production root: that must never happen');
    return {
      value: r,
      details: [
        `collateral (TCB info, QE identity, PCK CRL, root CA CRL) fetched from ${baseUrl}`,
        `PCK chain → SIMULATED root ${r.rootFingerprint?.slice(0, 16) ?? '?'}…, CRLs, TCB info, QE identity, signatures: ok (${formatMs(verifyMs)})`,
        `same quote against Intel's production root only: rejected (${intel.reason ?? intel.status}), as it must be`,
      ],
    };
  });

  // 7. What the relying party now knows.
  await story.run('What the relying party learned', async () => describeResult(result, quote, reportData));

  // 8. The application attests its quote with the attestation service: a token; a tampered quote gets none.
  const token = await story.run('Application attests the quote (MAA API)', async () => {
    const good = await attestQuote(issuer, quote, enclaveKey.runtimeData);
    if (!good.token) throw new DemoError(`the attestation service refused the genuine quote: ${good.status} ${good.error ?? ''}`);
    const bad = await attestQuote(issuer, tamperQuote(quote), enclaveKey.runtimeData);
    if (bad.token) throw new DemoError('the attestation service signed a token for a tampered quote');
    return {
      value: good.token,
      details: [
        `POST ${issuer}/attest/SgxEnclave: quote + runtime data (the enclave's RSA public key, JSON)`,
        `  → ${good.status}, a signed token (JWS, ${good.alg}, kid ${good.kid}) of ${good.token.length} characters`,
        `tampered quote (one MRENCLAVE byte flipped): ${bad.status} ${bad.error ?? ''}, no token`,
      ],
    };
  });

  // 9. A relying-party process verifies the token strictly; only then is the secret released.
  await story.run('Relying party verifies the token, releases', async () => {
    const tokenFile = join(dir, 'app', 'token.jwt');
    const tamperedFile = join(dir, 'app', 'tampered.jwt');
    writeFileSync(tokenFile, token);
    writeFileSync(tamperedFile, await tamperToken(token));
    const expect = { mrEnclave: ENCLAVE.mrEnclave.toString('hex'), mrSigner: ENCLAVE.mrSigner.toString('hex') };
    const secret = randomBytes(32);
    const [released, tampered] = await Promise.all([
      relyingPartyReleases(running, { issuer, tokenFile, expect, secret, env: baseEnv }),
      relyingPartyReleases(running, { issuer, tokenFile: tamperedFile, expect, secret, env: baseEnv }),
    ]);
    if (!released.wrapped) throw new DemoError(`the relying party refused the genuine token: ${released.verdict}`);
    if (tampered.wrapped) throw new DemoError('the relying party released the secret for a tampered token');
    if (!unwrapSecret(enclaveKey, released.wrapped).equals(secret)) throw new DemoError('the enclave could not unwrap the released secret');
    return {
      value: undefined,
      details: [
        `\`attest token --issuer ${issuer} --mrenclave … --mrsigner … --allow-simulated\` (pid ${released.pid}):`,
        `  ${released.verdict}`,
        `secret (32 bytes) released wrapped (RSA-OAEP-256) to the key in x-ms-runtime.keys; the enclave unwrapped it: ok`,
        `tampered token (x-ms-runtime.keys swapped for an attacker's key, pid ${tampered.pid}): ${tampered.verdict}; secret NOT released`,
      ],
    };
  });
}

async function describeResult(r: VerificationResult, quote: Buffer, reportData: Buffer): Promise<{ value: undefined; details: string[] }> {
  const e = r.enclave;
  if (!e) throw new DemoError('the verification result has no enclave identity');
  const problems: string[] = [];
  if (e.mrEnclave !== ENCLAVE.mrEnclave.toString('hex')) problems.push('MRENCLAVE');
  if (e.mrSigner !== ENCLAVE.mrSigner.toString('hex')) problems.push('MRSIGNER');
  if (e.isvProdId !== ENCLAVE.isvProdId || e.isvSvn !== ENCLAVE.isvSvn) problems.push('ISV prod id / SVN');
  if (e.reportData !== reportData.toString('hex')) problems.push('report data');
  if (!r.simulated) problems.push('simulated flag');
  if (problems.length > 0) throw new DemoError(`the verified quote does not carry what the enclave put in: ${problems.join(', ')}`);
  const q = parseQuote(quote);
  return {
    value: undefined,
    details: [
      `enclave     ${ENCLAVE.name}: MRENCLAVE ${e.mrEnclave}`,
      `            MRSIGNER ${e.mrSigner}`,
      `            ISV prod id ${e.isvProdId}, ISV SVN ${e.isvSvn}, DEBUG ${e.debug ? 'yes' : 'no'}`,
      `report data = SHA-256(runtime data: the enclave's public key) ‖ 0³², as the enclave made it`,
      `platform    FMSPC ${r.fmspc}, quote v${q.version}, QE SVN ${q.header.qeSvn}, PCE SVN ${q.header.pceSvn}`,
      `TCB status  ${r.status} (${r.qvResultName})${r.advisoryIds.length ? `, advisories ${r.advisoryIds.join(', ')}` : ''} — SIMULATED`,
    ],
  };
}

async function cleanUp(running: Running, keep: boolean): Promise<string[]> {
  const notes: string[] = [];
  if (running.app?.running) {
    await running.app.stop(1000);
    notes.push('application process stopped');
  }
  if (running.daemon) {
    const { code, signal } = await running.daemon.stop(5000);
    notes.push(`daemon stopped (${signal ? `signal ${signal}` : `exit ${code}`})`);
  }
  for (const v of running.verifiers ?? []) if (v.running) await v.stop(1000);
  if (running.attest) {
    const { code, signal } = await running.attest.stop(3000);
    notes.push(`attestation service stopped (${signal ? `signal ${signal}` : `exit ${code}`})`);
  }
  if (running.collateral) {
    const { code, signal } = await running.collateral.stop(3000);
    notes.push(`collateral server stopped (${signal ? `signal ${signal}` : `exit ${code}`})`);
  }
  if (running.dir) {
    if (keep) {
      notes.push(`kept ${running.dir}`);
    } else {
      rmSync(running.dir, { recursive: true, force: true });
      notes.push(`removed ${running.dir}`);
    }
  }
  return notes;
}
