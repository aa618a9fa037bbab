// Malformed input against a real `serve` process: each bad input is closed or answered as
// documented, counted in /metrics, the daemon keeps serving valid clients, and its open file
// descriptors (/proc/<pid>/fd) return to the baseline. Also: the upstream provider, chained to a
// second real daemon, and the ops endpoints of a real process.
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame, encodeRequest } from '../../src/aesm/index.js';
import { DEFAULT_ECDSA_P256_ATT_KEY_ID as KEY } from '../../src/sgx/index.js';
import { SimPlatform } from '../../src/providers/sim/index.js';
import { call, metricValue, openFdCount, rawExchange, removeDir, scrape, tempDir } from '../daemon/helpers.js';
import { spawnDaemon, stop, type DaemonProcess } from '../daemon/process-harness.js';

const validFrame = encodeFrame(encodeRequest({ kind: 'getSupportedAttKeyIdNum' }, { timeoutMs: 15000 }));

async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let dir: string;
let d: DaemonProcess;
let sock: string;
let ops: string;

beforeAll(async () => {
  dir = tempDir('sqh-r-');
  sock = path.join(dir, 'aesm.socket');
  d = spawnDaemon({ kind: 'tsx' }, [
    '--provider', 'sim', '--state-dir', path.join(dir, 'state'), '--init', '--socket', sock, '--ops-listen', '127.0.0.1:0',
    '--max-connections', '4', '--request-timeout', '500ms', '--max-request-size', '8KiB',
  ]);
  await d.serving;
  ops = await d.opsAddress;
}, 60_000);

afterAll(async () => {
  if (d) expect((await stop(d)).code).toBe(0);
  removeDir(dir);
});

describe('malformed input against a real process', () => {
  it('survives every kind of bad input, counts it, keeps serving, and leaks no file descriptors', async () => {
    expect((await call(sock, { kind: 'getSupportedAttKeyIdNum' })).attKeyIdNum).toBe(1);
    await scrape(ops);
    const fdBefore = openFdCount(d.pid);
    const be = Buffer.from(validFrame);
    be.writeUInt32BE(validFrame.length - 4, 0);
    const bad: Buffer[] = [
      Buffer.from([0xff, 0xff, 0xff, 0xff]), // 4 GiB length prefix
      be, // big-endian prefix
      Buffer.from('\x16\x03\x01\x02\x00garbage-tls-hello'), // garbage
      Buffer.from([0, 0, 0, 0]), // empty frame
      encodeFrame(Buffer.from([0xff, 0xff, 0xff])), // invalid protobuf
      encodeFrame(Buffer.from([0xf8, 0x06, 0x01])), // no sub-message
    ];
    for (let round = 0; round < 5; round++) {
      for (const b of bad) {
        const r = await rawExchange(sock, b);
        expect(r.closedWithoutReply).toBe(true);
        expect(r.error).toBeUndefined();
      }
      expect((await rawExchange(sock, validFrame.subarray(0, 6), { endAfterWrite: true })).closedWithoutReply).toBe(true); // early disconnect
      // Wrong field sizes get error answers, not closes.
      expect((await call(sock, { kind: 'getQuoteEx', report: Buffer.alloc(431), attKeyId: KEY, bufSize: 8192 })).errorCode).toBe(3);
      expect((await call(sock, { kind: 'initQuoteEx', attKeyId: KEY.subarray(0, 200), bPubKeyId: true, bufSize: 32n })).errorCode).toBe(3);
    }
    // Slowloris and too many connections: 10 drip 2 bytes each at a cap of 4, so each newcomer evicts
    // the oldest (6 evicted) and the last 4 are cut at --request-timeout.
    const idle: net.Socket[] = [];
    const closed: Promise<void>[] = [];
    for (let i = 0; i < 10; i++) {
      const s = net.connect(sock);
      s.on('error', () => undefined);
      closed.push(new Promise((r) => s.on('close', () => r())));
      s.on('connect', () => s.write(validFrame.subarray(0, 2)));
      idle.push(s);
    }
    await Promise.all(closed);
    expect((await call(sock, { kind: 'getSupportedAttKeyIdNum' })).attKeyIdNum).toBe(1);

    const m = (await scrape(ops)).text;
    expect(metricValue(m, 'sqh_aesm_frames_rejected_total', { reason: 'too-large' })).toBe(15);
    expect(metricValue(m, 'sqh_aesm_frames_rejected_total', { reason: 'empty' })).toBe(5);
    expect(metricValue(m, 'sqh_aesm_frames_rejected_total', { reason: 'invalid-protobuf' })).toBe(5);
    expect(metricValue(m, 'sqh_aesm_frames_rejected_total', { reason: 'no-submessage' })).toBe(5);
    expect(metricValue(m, 'sqh_aesm_frames_rejected_total', { reason: 'truncated' })).toBe(5);
    expect(metricValue(m, 'sqh_aesm_frames_rejected_total', { reason: 'timeout' })).toBeGreaterThanOrEqual(4);
    expect(metricValue(m, 'sqh_aesm_connections_rejected_total', { reason: 'evicted' })).toBe(6);
    expect(metricValue(m, 'sqh_aesm_connections_rejected_total', { reason: 'limit' })).toBe(0);
    expect(metricValue(m, 'sqh_aesm_requests_total', { operation: 'getQuoteEx', code: '3', result: 'AESM_PARAMETER_ERROR' })).toBe(5);
    await until(async () => metricValue((await scrape(ops)).text, 'sqh_aesm_connections_open') === 0, 'connections closed');
    await until(() => openFdCount(d.pid) <= fdBefore, `daemon fds back to ${fdBefore}`);
    console.log(`daemon ${d.pid}: ${fdBefore} fds before the malformed-input barrage, ${openFdCount(d.pid)} after`);
  }, 60_000);
});

describe('ops endpoints of a real process', () => {
  it('/healthz, /readyz (sim: ready, FMSPC, TCB status) and /metrics with the info gauge', async () => {
    expect((await scrape(ops, '/healthz')).status).toBe(200);
    const ready = await scrape(ops, '/readyz');
    expect(ready.status).toBe(200);
    const body = JSON.parse(ready.text) as { ready: boolean; provider: string; simulated: boolean; fmspc: string; tcbStatus: string };
    const platform = await SimPlatform.load(path.join(dir, 'state'));
    expect(body).toMatchObject({ ready: true, provider: 'sim', simulated: true, fmspc: platform.record.fmspc.toString('hex').toUpperCase(), tcbStatus: 'UpToDate' });
    const m = (await scrape(ops)).text;
    expect(metricValue(m, 'sqh_info', { provider: 'sim', simulated: 'true', fmspc: body.fmspc, tcb_status: 'UpToDate' })).toBe(1);
    for (const name of ['sqh_aesm_request_duration_seconds_count', 'sqh_aesm_requests_in_flight', 'sqh_aesm_connections_open', 'sqh_provider_queue_length', 'process_open_fds']) {
      expect(m, name).toContain(name);
    }
  });
});

describe('upstream provider', () => {
  it('forwards every operation to another AESM socket (here: a second real daemon)', async () => {
    const front = path.join(dir, 'front.sock');
    const f = spawnDaemon({ kind: 'tsx' }, ['--provider', 'upstream', '--upstream', sock, '--socket', front, '--ops-listen', '127.0.0.1:0']);
    try {
      await f.serving;
      const frontOps = await f.opsAddress;
      expect(JSON.parse((await scrape(frontOps, '/readyz')).text)).toMatchObject({ ready: true, provider: 'upstream', simulated: false });
      expect((await call(front, { kind: 'getSupportedAttKeyIdNum' })).attKeyIdNum).toBe(1);
      const init = await call(front, { kind: 'initQuoteEx', attKeyId: KEY, bPubKeyId: true, bufSize: 32n });
      expect(init.targetInfo!.length).toBe(512);
      const platform = await SimPlatform.load(path.join(dir, 'state'));
      const report = platform.ereport({ mrEnclave: Buffer.alloc(32, 1), mrSigner: Buffer.alloc(32, 2), isvProdId: 1, isvSvn: 1, attributes: { flags: 5n, xfrm: 0xe7n }, targetInfo: init.targetInfo!, reportData: Buffer.alloc(64, 3) });
      const size = (await call(front, { kind: 'getQuoteSizeEx', attKeyId: KEY })).quoteSize!;
      const q = await call(front, { kind: 'getQuoteEx', report, attKeyId: KEY, bufSize: 8192 });
      expect(q.errorCode).toBe(0);
      expect(q.quote!.length).toBe(8192);
      expect(436 + q.quote!.readUInt32LE(432)).toBe(size);
      // Upstream errors come back with the upstream's code.
      expect((await call(front, { kind: 'getQuoteEx', report: Buffer.alloc(432, 9), attKeyId: KEY, bufSize: 8192 })).errorCode).not.toBe(0);
    } finally {
      expect((await stop(f)).code).toBe(0);
    }
    // With the upstream gone, the front daemon still answers (AESM_SERVICE_UNAVAILABLE), never closes silently.
    const g = spawnDaemon({ kind: 'tsx' }, ['--provider', 'upstream', '--upstream', path.join(dir, 'nobody.sock'), '--socket', front, '--ops-listen', 'off']);
    try {
      await g.serving;
      expect((await call(front, { kind: 'getSupportedAttKeyIdNum' })).errorCode).toBe(30);
      expect((await call(front, { kind: 'initQuoteEx', attKeyId: KEY, bPubKeyId: true, bufSize: 32n })).errorCode).toBe(30);
    } finally {
      expect((await stop(g)).code).toBe(0);
    }
  }, 60_000);
});
