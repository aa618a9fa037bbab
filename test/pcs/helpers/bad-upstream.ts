import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { goTdx } from './testdata.js';

/**
 * A misbehaving PCS of our own on loopback (the stand-in for an upstream we do not control): in `ok`
 * mode it replays the real go-tdx-guest PCS answers; the other modes answer the way a broken or hostile
 * upstream might. It counts the bytes it managed to push before the client hung up.
 */
export type BadMode =
  | 'ok'
  | 'huge' // 200, no Content-Length, 64 KiB chunks until the client closes
  | 'declared-huge' // Content-Length of 300 MB
  | 'gzip-bomb' // a small gzip body that inflates to 64 MiB of zeros
  | 'no-headers' // accepts the request and never answers
  | 'slow-body' // headers at once, then one byte a second
  | 'garbage' // 200 with issuer-chain header but a body that is not PCS JSON
  | 'cut' // promises 100,000 bytes, sends 1,000 and drops the connection
  | 'redirect-cross' // 302 to another origin (`redirectTo`)
  | 'redirect-same'; // 302 to the same path with ?hop=1, then the ok answer

export interface BadUpstream {
  url: string;
  mode: BadMode;
  redirectTo?: string;
  requests: { path: string; headers: IncomingHttpHeaders }[];
  /** Body bytes written in `huge`/`slow-body` answers before the client closed. */
  bytesPushed: number;
  /** Connections currently open to this server. */
  openConnections(): number;
  close(): Promise<void>;
}

let bomb: Buffer | undefined;
/** 64 MiB of zeros, gzip-compressed once (about 64 KiB). */
export function gzipBomb(): Buffer {
  bomb ??= gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
  return bomb;
}

function okAnswer(path: string, res: ServerResponse): void {
  const routes: Record<string, { headers: Record<string, string>; body: string | Buffer }> = {
    '/tdx/certification/v4/tcb': { headers: { 'TCB-Info-Issuer-Chain': goTdx.tcbChainEncoded() }, body: goTdx.tcbInfoResponse() },
    '/tdx/certification/v4/qe/identity': { headers: { 'SGX-Enclave-Identity-Issuer-Chain': goTdx.qeChainEncoded() }, body: goTdx.qeIdentityResponse() },
    '/sgx/certification/v4/pckcrl': { headers: { 'SGX-PCK-CRL-Issuer-Chain': goTdx.crlChainEncoded() }, body: goTdx.pckCrl() },
    '/sgx/certification/v4/rootcacrl': { headers: {}, body: goTdx.rootCrl().toString('hex') },
  };
  const r = routes[path];
  if (!r) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, r.headers).end(r.body);
}

export async function startBadUpstream(mode: BadMode = 'ok'): Promise<BadUpstream> {
  const sockets = new Set<Socket>();
  const state = { mode, redirectTo: undefined as string | undefined, requests: [] as BadUpstream['requests'], bytesPushed: 0 };
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    state.requests.push({ path: `${u.pathname}${u.search}`, headers: req.headers });
    const chunk = Buffer.alloc(64 * 1024, 0x7b);
    switch (state.mode) {
      case 'ok':
        return okAnswer(u.pathname, res);
      case 'huge': {
        res.writeHead(200, { 'Content-Type': 'application/json', 'TCB-Info-Issuer-Chain': goTdx.tcbChainEncoded() });
        const push = () => {
          while (!res.destroyed && res.write(chunk)) state.bytesPushed += chunk.length;
          if (!res.destroyed) state.bytesPushed += chunk.length;
        };
        res.on('drain', push);
        push();
        return;
      }
      case 'declared-huge':
        res.writeHead(200, { 'Content-Length': String(300 * 1024 * 1024), 'TCB-Info-Issuer-Chain': goTdx.tcbChainEncoded() });
        res.write(chunk);
        return;
      case 'gzip-bomb':
        res.writeHead(200, { 'Content-Encoding': 'gzip', 'TCB-Info-Issuer-Chain': goTdx.tcbChainEncoded() });
        res.end(gzipBomb());
        return;
      case 'no-headers':
        return; // never answer
      case 'slow-body': {
        res.writeHead(200, { 'Content-Length': '100000', 'TCB-Info-Issuer-Chain': goTdx.tcbChainEncoded() });
        const t = setInterval(() => {
          if (res.destroyed) return clearInterval(t);
          res.write('{');
          state.bytesPushed++;
        }, 1000);
        res.on('close', () => clearInterval(t));
        return;
      }
      case 'cut':
        res.writeHead(200, { 'Content-Length': '100000', 'TCB-Info-Issuer-Chain': goTdx.tcbChainEncoded() });
        res.write(Buffer.alloc(1000, 0x7b), () => res.socket?.destroy());
        return;
      case 'garbage':
        res.writeHead(200, { 'Content-Type': 'application/json', 'TCB-Info-Issuer-Chain': goTdx.tcbChainEncoded() });
        res.end('{"tcbInfo": [1, 2, 3], "signature": "zz"');
        return;
      case 'redirect-cross':
        res.writeHead(302, { Location: `${state.redirectTo ?? 'http://127.0.0.2:9'}${u.pathname}${u.search}` }).end();
        return;
      case 'redirect-same':
        if (u.searchParams.get('hop') === '1') return okAnswer(u.pathname, res);
        u.searchParams.set('hop', '1');
        res.writeHead(302, { Location: `${u.pathname}${u.search}` }).end();
        return;
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return Object.defineProperties(
    {
      url: `http://127.0.0.1:${port}`,
      openConnections: () => sockets.size,
      close: () =>
        new Promise<void>((r) => {
          for (const s of sockets) s.destroy();
          server.close(() => r());
        }),
    },
    {
      mode: { get: () => state.mode, set: (m: BadMode) => (state.mode = m), enumerable: true },
      redirectTo: { get: () => state.redirectTo, set: (v: string) => (state.redirectTo = v), enumerable: true },
      requests: { get: () => state.requests, enumerable: true },
      bytesPushed: { get: () => state.bytesPushed, set: (n: number) => (state.bytesPushed = n), enumerable: true },
    },
  ) as BadUpstream;
}
