// A faulty upstream AESM service for the provider-fault scenarios (stands in for a host aesmd
// misbehaving: the external boundary of `--provider upstream`). One mode per process:
//   tsx test/reliability/load/fault-upstream.ts <listen path> <backend socket> <mode>
// pass: relay to the backend; close: read the request, close without a reply; garbage: answer a
// frame that is not a Response; slow: relay after 3 s; hang: accept and never answer.
// Prints "listening" once ready; runs until killed (the scenario kills it).
import { unlinkSync } from 'node:fs';
import net from 'node:net';

const [at, backend, mode] = process.argv.slice(2);
try {
  unlinkSync(at);
} catch {
  /* absent */
}
const held = new Set<net.Socket>();
const server = net.createServer({ allowHalfOpen: true }, (c) => {
  c.on('error', () => undefined);
  const relay = (delayMs: number) => {
    const chunks: Buffer[] = [];
    c.on('data', (d) => {
      chunks.push(d);
      const all = Buffer.concat(chunks);
      if (all.length < 4 || all.length < 4 + all.readUInt32LE(0)) return;
      setTimeout(() => {
        const u = net.connect(backend);
        u.on('error', () => c.destroy());
        u.on('connect', () => u.write(all));
        u.pipe(c);
      }, delayMs);
    });
  };
  switch (mode) {
    case 'pass':
      return relay(0);
    case 'slow':
      return relay(3000);
    case 'close':
      c.on('data', () => c.end());
      return;
    case 'garbage':
      c.on('data', () => c.end(Buffer.from([5, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff])));
      return;
    case 'hang':
      held.add(c);
      c.on('data', () => undefined);
      return;
    default:
      throw new Error(`unknown mode ${mode}`);
  }
});
server.listen(at, () => console.log('listening'));
process.on('SIGTERM', () => process.exit(0));
