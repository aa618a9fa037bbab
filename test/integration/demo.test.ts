// Runs the real demo (`sgx-quote-helper demo`, from the sources through tsx) as a child process:
// it starts its own daemon process, collateral server, attestation service and relying-party verifiers. Checks the story, the exit code, and that
// nothing is left behind on success, on failure and on Ctrl-C.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

interface DemoRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
}

function runDemo(args: string[] = [], interruptWhen?: RegExp): Promise<DemoRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'demo', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let sent = false;
    const onData = (d: Buffer) => {
      out += d.toString('utf8');
      if (interruptWhen && !sent && interruptWhen.test(out)) {
        sent = true;
        child.kill('SIGINT');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code, signal) => resolve({ code, signal, out }));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function leftovers(out: string): { dir?: string; daemonPid?: number; collateralPid?: number; attestPid?: number } {
  const dir = out.match(/state dir (\/\S+)\/node\/sim-platform/)?.[1];
  const pid = out.match(/pid (\d+), listening on/)?.[1];
  const cpid = out.match(/`collateral serve`, pid (\d+)/)?.[1];
  const apid = out.match(/`attest serve`, pid (\d+)/)?.[1];
  return { dir, daemonPid: pid ? Number(pid) : undefined, collateralPid: cpid ? Number(cpid) : undefined, attestPid: apid ? Number(apid) : undefined };
}

describe('npm run demo / sgx-quote-helper demo', () => {
  // Up to eight of our processes start one after another (tsx from the sources): give a loaded CI machine room.
  it('tells the whole SIMULATED story, exits 0 and cleans up', { timeout: 120_000 }, async () => {
    const r = await runDemo();
    expect(r.code, r.out).toBe(0);
    for (const line of [
      /Everything below is SIMULATED/,
      /\[1\/9\] Simulated SGX platform\s+ok/,
      /\[2\/9\] Collateral server \(PCS v4 API\)\s+ok/,
      /\[3\/9\] Attestation service \(MAA API\)\s+ok/,
      /`attest serve`, pid \d+: issuer http:\/\/127\.0\.0\.1:\d+/,
      /\[4\/9\] Quote helper daemon \(sim provider\)\s+ok/,
      /\[5\/9\] Application container gets a quote\s+ok/,
      /SGX_AESM_ADDR=1/,
      /QE report checked: .* MAC ok/,
      /\[6\/9\] Relying party verifies the quote\s+ok/,
      /collateral .* fetched from http:\/\/127\.0\.0\.1:\d+/,
      /Intel's production root only: rejected \(PCK_CHAIN_UNTRUSTED\)/,
      /MRENCLAVE [0-9a-f]{64}/,
      /report data = SHA-256\(runtime data: the enclave's public key\)/,
      /TCB status {2}UpToDate \(SGX_QL_QV_RESULT_OK\) — SIMULATED/,
      /\[8\/9\] Application attests the quote \(MAA API\)\s+ok/,
      /→ 200, a signed token \(JWS, RS256, kid [A-Za-z0-9_-]+\)/,
      /tampered quote \(one MRENCLAVE byte flipped\): 400 QuoteVerificationFailed, no token/,
      /\[9\/9\] Relying party verifies the token, releases\s+ok/,
      /VERIFIED \(kid [A-Za-z0-9_-]+, SIMULATED platform; MRENCLAVE, MRSIGNER as expected\)/,
      /secret \(32 bytes\) released wrapped \(RSA-OAEP-256\) .* the enclave unwrapped it: ok/,
      /tampered token .*: NOT VERIFIED: BAD_SIGNATURE: .*; secret NOT released/,
      /cleanup: daemon stopped \(exit 0\)/,
      /cleanup: attestation service stopped \(exit 0\)/,
      /cleanup: collateral server stopped \(exit 0\)/,
      /DEMO OK \(SIMULATED\)/,
    ]) {
      expect(r.out).toMatch(line);
    }
    const { dir, daemonPid, collateralPid, attestPid } = leftovers(r.out);
    expect(dir && existsSync(dir)).toBe(false);
    expect(daemonPid && alive(daemonPid)).toBe(false);
    expect(collateralPid && alive(collateralPid)).toBe(false);
    expect(attestPid && alive(attestPid)).toBe(false);
  });

  it('exits 1 when verification does not accept the platform (Revoked profile), and still cleans up', { timeout: 120_000 }, async () => {
    const r = await runDemo(['--tcb', 'Revoked']);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toMatch(/\[6\/9\] Relying party verifies the quote\s+FAILED/);
    expect(r.out).toMatch(/DEMO FAILED: verification failed: .*Revoked/i);
    expect(r.out).not.toMatch(/DEMO OK/);
    expect(r.out).toMatch(/cleanup: attestation service stopped/);
    const { dir, daemonPid, attestPid } = leftovers(r.out);
    expect(dir && existsSync(dir)).toBe(false);
    expect(daemonPid && alive(daemonPid)).toBe(false);
    expect(attestPid && alive(attestPid)).toBe(false);
  });

  it('on Ctrl-C (SIGINT) stops the daemon and the attestation service, removes its files and exits 130', { timeout: 120_000 }, async () => {
    const r = await runDemo([], /pid \d+, listening on/);
    expect(r.code, r.out).toBe(130);
    expect(r.out).toMatch(/SIGINT: stopping the demo and cleaning up/);
    expect(r.out).toMatch(/cleanup: daemon stopped/);
    expect(r.out).toMatch(/cleanup: attestation service stopped/);
    const { dir, daemonPid, collateralPid, attestPid } = leftovers(r.out);
    expect(dir && existsSync(dir)).toBe(false);
    expect(daemonPid && alive(daemonPid)).toBe(false);
    expect(collateralPid && alive(collateralPid)).toBe(false);
    expect(attestPid && alive(attestPid)).toBe(false);
  });
});
