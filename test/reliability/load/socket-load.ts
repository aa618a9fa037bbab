// Load generators for the node-socket reliability scenarios, one mode per process:
//   tsx test/reliability/load/socket-load.ts <mode> '<json params>'
// Every mode is bounded in count and in time, talks only to the given Unix socket, and prints one
// JSON line with what it did: {tried, rejected, served, malformedReplies, ...}.
import net from 'node:net';
import { decodeResponse, encodeFrame, encodeRequest, type AesmRequest } from '../../../src/aesm/index.js';
import { SimPlatform } from '../../../src/providers/sim/index.js';
import { DEFAULT_ECDSA_P256_ATT_KEY_ID } from '../../../src/sgx/index.js';

const KEY = DEFAULT_ECDSA_P256_ATT_KEY_ID;
const [mode, json] = process.argv.slice(2);
const p = JSON.parse(json ?? '{}') as { socket: string; count?: number; seconds?: number; concurrency?: number; seed?: number; bufSize?: number; stateDir?: string };
const deadline = Date.now() + (p.seconds ?? 30) * 1000;
const result = { tried: 0, rejected: 0, served: 0, malformedReplies: 0, errors: 0, refusedConnect: 0 };

// Deterministic pseudo-random numbers, so a failing run can be repeated (xorshift32).
let seed = (p.seed ?? 12345) >>> 0 || 1;
const rnd = (n: number): number => {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed % n;
};
const rndBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => rnd(256)));

const VALID: Buffer[] = (
  [
    { kind: 'getSupportedAttKeyIdNum' },
    { kind: 'getSupportedAttKeyIds', bufSize: 256 },
    { kind: 'selectAttKeyId' },
    { kind: 'initQuoteEx', attKeyId: KEY, bPubKeyId: false },
    { kind: 'initQuoteEx', attKeyId: KEY, bPubKeyId: true, bufSize: 32n },
    { kind: 'getQuoteSizeEx', attKeyId: KEY },
    { kind: 'getQuoteEx', report: Buffer.alloc(432, 7), attKeyId: KEY, bufSize: 8192 },
  ] as AesmRequest[]
).map((r) => encodeRequest(r, { timeoutMs: 15000 }));

const prefix = (n: number, be = false) => {
  const b = Buffer.alloc(4);
  if (be) b.writeUInt32BE(n >>> 0);
  else b.writeUInt32LE(n >>> 0);
  return b;
};
const varint = (n: number): Buffer => {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
};
const ld = (tag: number[], body: Buffer) => Buffer.concat([Buffer.from(tag), varint(body.length), body]);

/** One malformed (or at least unusual) frame of kind `i % 12`: what the issue lists. */
function malformed(i: number): Buffer {
  const valid = VALID[rnd(VALID.length)];
  switch (i % 12) {
    case 0: // random bytes
      return rndBytes(1 + rnd(64));
    case 1: {
      // a valid frame with a few bytes flipped
      const f = Buffer.from(encodeFrame(valid));
      for (let k = 0; k < 1 + rnd(4); k++) f[rnd(f.length)] ^= 1 << rnd(8);
      return f;
    }
    case 2: // truncated: a prefix of a valid frame
      return encodeFrame(valid).subarray(0, 1 + rnd(valid.length + 3));
    case 3:
      return Buffer.concat([prefix([0, 1, 2 ** 31, 2 ** 32 - 1][rnd(4)]), rndBytes(rnd(8))]);
    case 4: // big-endian length prefix
      return Buffer.concat([prefix(valid.length, true), valid]);
    case 5: // not protobuf at all, correctly framed
      return encodeFrame(Buffer.concat([Buffer.from([0xff, 0xff, 0xff]), rndBytes(rnd(16))]));
    case 6: // wire-type mismatch: buf_size of GetQuoteEx as bytes, report as a varint
      return encodeFrame(ld([0x8a, 0x01], Buffer.concat([Buffer.from([0x08, 0x05]), ld([0x12], KEY), ld([0x22], Buffer.from([0xfe, 0x24]))])));
    case 7: // wrapper field as a varint
      return encodeFrame(Buffer.from([0x88, 0x01, 0x05, 0x80, 0x01, 0x01]));
    case 8: // several sub-messages in one request
      return encodeFrame(Buffer.concat([VALID[0], VALID[5], VALID[3]]));
    case 9: // wrong field sizes: 431-byte report, short key id
      return encodeFrame(encodeRequest({ kind: 'getQuoteEx', report: Buffer.alloc(431), attKeyId: KEY.subarray(0, 100 + rnd(150)), bufSize: 8192 }));
    case 10: // unknown wrapper field only
      return encodeFrame(Buffer.concat([Buffer.from([0xf8, 0x06]), varint(rnd(1000))]));
    default: // length beyond the sub-message end / absurd varints
      return encodeFrame(Buffer.from([0x7a, 0x7f, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]));
  }
}

/** Send `data`, half-close, collect the answer; classify it. A reply must be one well-formed frame. */
function exchange(data: Buffer, opts: { end?: boolean; destroyAfterWrite?: boolean; readReply?: boolean } = {}): Promise<void> {
  return new Promise((resolve) => {
    result.tried++;
    const s = net.connect(p.socket);
    const chunks: Buffer[] = [];
    let connected = false;
    const timer = setTimeout(() => s.destroy(), 20_000);
    s.on('connect', () => {
      connected = true;
      s.write(data);
      if (opts.destroyAfterWrite) s.destroy();
      else if (opts.end !== false) s.end();
    });
    s.on('data', (c) => chunks.push(c));
    s.on('error', () => {
      if (!connected) result.refusedConnect++;
      else result.errors++;
    });
    s.on('close', () => {
      clearTimeout(timer);
      const bytes = Buffer.concat(chunks);
      if (opts.destroyAfterWrite) {
        resolve();
        return;
      }
      if (bytes.length === 0) result.rejected++;
      else if (bytes.length >= 4 && bytes.length === 4 + bytes.readUInt32LE(0) && decodesAsResponse(bytes.subarray(4))) result.served++;
      else result.malformedReplies++;
      resolve();
    });
  });
}

function decodesAsResponse(body: Buffer): boolean {
  for (const kind of ['getSupportedAttKeyIdNum', 'getSupportedAttKeyIds', 'selectAttKeyId', 'initQuoteEx', 'getQuoteSizeEx', 'getQuoteEx'] as const) {
    try {
      decodeResponse(body, kind);
      return true;
    } catch {
      /* another field */
    }
  }
  // Legacy answers carry only an errorCode in another field: a non-empty protobuf body is enough.
  return body.length > 0 && body.length < 64;
}

async function pool(n: number, count: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < count && Date.now() < deadline) await job(next++);
    }),
  );
}

/** Connections that stay open; `bytesPerSecond` 0 = silent. Each reconnects when cut, until the deadline. */
async function holders(count: number, drip: boolean): Promise<void> {
  const frame = encodeFrame(VALID[0]);
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      result.tried++;
      const s = net.connect(p.socket);
      let timer: NodeJS.Timeout | undefined;
      let sent = 0;
      s.on('connect', () => {
        if (drip) {
          timer = setInterval(() => {
            if (sent < frame.length - 1) s.write(frame.subarray(sent, ++sent)); // never the last byte
          }, 1000);
        }
      });
      let connected = false;
      s.once('connect', () => (connected = true));
      s.on('data', () => undefined);
      s.on('error', () => undefined);
      s.on('close', () => {
        if (timer) clearInterval(timer);
        if (connected) result.rejected++;
        else result.refusedConnect++;
        resolve();
      });
    });
  const sockets: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    sockets.push(
      (async () => {
        while (Date.now() < deadline) {
          await Promise.race([one(), new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())))]);
          await new Promise((r) => setTimeout(r, 20)); // reconnect at once (a short breath keeps it bounded)
        }
      })(),
    );
  }
  await Promise.all(sockets);
}

/** An EREPORT for the daemon's QE from the shared sim state (InitQuoteEx over the socket for the target). */
async function validReport(): Promise<Buffer> {
  if (!p.stateDir) throw new Error('unread mode needs stateDir');
  const platform = await SimPlatform.load(p.stateDir);
  const body = await new Promise<Buffer>((resolve, reject) => {
    const s = net.connect(p.socket);
    const chunks: Buffer[] = [];
    s.on('connect', () => s.write(encodeFrame(encodeRequest({ kind: 'initQuoteEx', attKeyId: KEY, bPubKeyId: true, bufSize: 32n }, { timeoutMs: 15000 }))));
    s.on('data', (c) => chunks.push(c));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(chunks).subarray(4)));
  });
  const init = decodeResponse(body, 'initQuoteEx') as { errorCode: number; targetInfo?: Buffer };
  if (init.errorCode !== 0 || !init.targetInfo) throw new Error(`initQuoteEx failed: ${init.errorCode}`);
  return platform.ereport({ mrEnclave: Buffer.alloc(32, 3), mrSigner: Buffer.alloc(32, 4), isvProdId: 1, isvSvn: 1, attributes: { flags: 5n, xfrm: 0xe7n }, targetInfo: init.targetInfo, reportData: Buffer.alloc(64) });
}

async function main(): Promise<void> {
  const count = p.count ?? 1000;
  const concurrency = p.concurrency ?? 32;
  switch (mode) {
    case 'malformed':
      await pool(concurrency, count, (i) => exchange(malformed(i)));
      break;
    case 'idle':
      await holders(count, false);
      break;
    case 'drip':
      await holders(count, true);
      break;
    case 'flood':
      // Far more connections at once than --max-connections, each with a valid request.
      await pool(concurrency, count, () => exchange(encodeFrame(VALID[rnd(4)])));
      break;
    case 'disconnect':
      // Half the connections go away mid-request, half right after the request (mid-response).
      await pool(concurrency, count, (i) => {
        const f = encodeFrame(VALID[6]);
        return i % 2 === 0 ? exchange(f.subarray(0, 1 + rnd(f.length - 1)), { destroyAfterWrite: true }) : exchange(f, { destroyAfterWrite: true });
      });
      break;
    case 'halfclose':
      // Request then shutdown(SHUT_WR) (must be served), or shutdown before any byte (must be closed).
      await pool(concurrency, count, (i) => exchange(i % 2 === 0 ? encodeFrame(VALID[rnd(4)]) : Buffer.alloc(0), { end: true }));
      break;
    case 'unread': {
      // Large replies that are never read: real quotes padded to a big buf_size, socket paused.
      const big = p.bufSize ?? 64 * 1024;
      const report = await validReport();
      const req = encodeFrame(encodeRequest({ kind: 'getQuoteEx', report, attKeyId: KEY, bufSize: big }, { timeoutMs: 15000 }));
      const held: net.Socket[] = [];
      for (let i = 0; i < count && Date.now() < deadline; i++) {
        result.tried++;
        const s = net.connect(p.socket);
        s.on('error', () => undefined);
        s.on('connect', () => {
          s.pause();
          s.write(req);
        });
        held.push(s);
      }
      await new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())));
      for (const s of held) s.destroy();
      break;
    }
    default:
      throw new Error(`unknown mode ${mode}`);
  }
  console.log(JSON.stringify(result));
}

main().then(
  () => process.exit(0),
  (e) => {
    console.log(JSON.stringify({ error: (e as Error).message }));
    process.exit(1);
  },
);
