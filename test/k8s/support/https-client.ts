import { request } from 'node:https';
import { connect, type PeerCertificate } from 'node:tls';

export interface HttpsResult {
  status: number;
  body: string;
  json: unknown;
}

/** One real HTTPS request that trusts exactly the given CA (as the API server does with caBundle). */
export function httpsRequest(
  url: string,
  opts: { method?: string; body?: string; ca: string; contentType?: string },
): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: opts.method ?? 'GET',
        ca: opts.ca,
        headers: opts.body !== undefined ? { 'content-type': opts.contentType ?? 'application/json' } : {},
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString();
          let json: unknown;
          try {
            json = JSON.parse(body);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body, json });
        });
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** The certificate the server presents right now (no verification: we only look at it). */
export function peerCertificate(host: string, port: number): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, rejectUnauthorized: false, servername: 'localhost' }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.on('error', reject);
  });
}
