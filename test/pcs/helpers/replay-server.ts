import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A tiny loopback HTTP server that answers from a route table. It stands in for Intel's PCS (and a PCCS
 * or Azure THIM), a true external boundary this sandbox cannot reach: the bodies and headers it replays
 * are real PCS answers captured in test/fixtures/testdata.
 */
export interface Reply {
  status?: number;
  headers?: Record<string, string | undefined>;
  body?: string | Buffer;
}

export type Route = Reply | ((url: URL, headers: IncomingHttpHeaders) => Reply);

export interface ReplayServer {
  url: string;
  /** Every request seen, as path+query, in order. */
  requests: { path: string; headers: IncomingHttpHeaders }[];
  routes: Map<string, Route>;
  close(): Promise<void>;
}

export async function startReplayServer(routes: Record<string, Route> = {}): Promise<ReplayServer> {
  const table = new Map<string, Route>(Object.entries(routes));
  const requests: ReplayServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push({ path: `${url.pathname}${url.search}`, headers: req.headers });
    const route = table.get(url.pathname);
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    const reply = typeof route === 'function' ? route(url, req.headers) : route;
    const headers = Object.fromEntries(Object.entries(reply.headers ?? {}).filter(([, v]) => v !== undefined)) as Record<string, string>;
    res.writeHead(reply.status ?? 200, headers);
    res.end(reply.body ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    routes: table,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
