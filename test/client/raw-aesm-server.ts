// A tiny AESM-framed server for the failure modes the real daemon will not produce on demand: never
// answering, closing without an answer, answering garbage, and counting connections. It speaks
// the real framing (src/aesm) over a real Unix socket; it stands in for a misbehaving daemon only.
import { createServer, type Server, type Socket } from 'node:net';
import { decodeRequest, encodeFrame, encodeResponse, FrameDecoder, type AesmRequest, type AesmResponse } from '../../src/aesm/index.js';

export type Behaviour =
  | { kind: 'never-answer' }
  | { kind: 'close' }
  | { kind: 'raw'; bytes: Buffer }
  | { kind: 'answer'; respond: (req: AesmRequest) => AesmResponse };

export interface RawServer {
  server: Server;
  /** Requests received (decoded), in order. */
  requests: AesmRequest[];
  connections: number;
  close(): Promise<void>;
}

export async function startRawServer(path: string, behaviour: Behaviour): Promise<RawServer> {
  const sockets = new Set<Socket>();
  const state: RawServer = {
    server: createServer(),
    requests: [],
    connections: 0,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => state.server.close(() => r()));
    },
  };
  state.server.on('connection', (socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      const frames = decoder.push(chunk);
      if (frames.length === 0) return;
      const decoded = decodeRequest(frames[0]!);
      if (decoded.ok) state.requests.push(decoded.request);
      switch (behaviour.kind) {
        case 'never-answer':
          return;
        case 'close':
          socket.destroy();
          return;
        case 'raw':
          socket.end(behaviour.bytes);
          return;
        case 'answer':
          if (!decoded.ok) return void socket.destroy();
          socket.end(encodeFrame(encodeResponse(behaviour.respond(decoded.request))));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    state.server.once('error', reject);
    state.server.listen(path, () => resolve());
  });
  return state;
}
