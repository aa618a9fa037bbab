// Socket handover between two real dcap daemons (the C STAND-IN for Intel's libraries replaces SGX
// hardware) while clients run Intel's SDK quote sequence continuously: 0 failed requests, and in each
// process the native calls never overlapped.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ECDSA_P256_ATT_KEY_ID as KEY, REPORT_SIZE } from '../../src/sgx/index.js';
import { call, removeDir, tempDir } from '../daemon/helpers.js';
import { spawnDaemon, stop } from '../daemon/process-harness.js';
import { buildDcapStandin, readStandinRecord, type StandinBuild } from '../support/dcap-standin.js';

let standin: StandinBuild;
let dir: string;

beforeAll(() => {
  standin = buildDcapStandin();
  dir = tempDir('sqh-dh-');
}, 60_000);

afterAll(() => removeDir(dir));

describe('handover between two dcap daemons', () => {
  it('under load, with 0 failed requests', async () => {
    const sock = path.join(dir, 'aesm.socket');
    const env = standin.env(dir);
    const args = ['--provider', 'dcap', '--dcap-lib-dir', standin.libDir, '--sgx-device-dir', standin.deviceDir, '--socket', sock, '--ops-listen', 'off'];
    const first = spawnDaemon({ kind: 'tsx' }, args, env);
    await first.serving;
    const counts = { ok: 0, failed: 0 };
    const failures: string[] = [];
    let running = true;
    const report = Buffer.alloc(REPORT_SIZE, 0x42);
    const client = async () => {
      while (running) {
        for (const req of [
          { kind: 'initQuoteEx' as const, attKeyId: KEY, bPubKeyId: true, bufSize: 32n },
          { kind: 'getQuoteSizeEx' as const, attKeyId: KEY },
          { kind: 'getQuoteEx' as const, report, attKeyId: KEY, bufSize: 4096 },
        ]) {
          try {
            const r = await call(sock, req);
            if (r.errorCode === 0) counts.ok++;
            else failures.push(`${req.kind}: errorCode ${r.errorCode}`);
          } catch (e) {
            failures.push(`${req.kind}: ${(e as Error).message}`);
          }
        }
      }
    };
    const clients = Array.from({ length: 3 }, client);
    await new Promise((r) => setTimeout(r, 300));
    const okBefore = counts.ok;
    const second = spawnDaemon({ kind: 'tsx' }, args, env);
    const line = await second.serving;
    expect(line.previous).toBe('live');
    expect((await first.exited).code).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    running = false;
    await Promise.all(clients);
    const okDuring = counts.ok;
    expect((await stop(second)).code).toBe(0);
    counts.failed = failures.length;
    console.log(`dcap handover under load: ${counts.ok} requests ok (${okBefore} before the handover), ${counts.failed} failed`);
    expect(failures).toEqual([]);
    expect(okBefore).toBeGreaterThan(0);
    expect(okDuring).toBeGreaterThan(okBefore);

    const calls = readStandinRecord(env.SQH_DCAP_STANDIN_RECORD).filter((c) => /^sgx_ql_(init_quote|get_quote_size|get_quote)$/.test(c.fn));
    for (const pid of [first.pid, second.pid]) {
      const mine = calls.filter((c) => c.pid === pid).sort((a, b) => (a.t0 < b.t0 ? -1 : 1));
      expect(mine.length, `native calls in ${pid}`).toBeGreaterThan(3);
      expect(mine.every((c) => c.conc === 1)).toBe(true);
      for (let i = 1; i < mine.length; i++) expect(mine[i].t0 > mine[i - 1].t1).toBe(true);
    }
    // Both served quotes: the old one until it drained, the new one after it took over.
    expect(calls.some((c) => c.pid === first.pid && c.fn === 'sgx_ql_get_quote')).toBe(true);
    expect(calls.some((c) => c.pid === second.pid && c.fn === 'sgx_ql_get_quote')).toBe(true);
  }, 60_000);
});
