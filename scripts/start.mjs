#!/usr/bin/env node
// `npm start`: run the quote daemon with the SIMULATED sim provider, on a socket path this user can
// create. Order: SQH_SOCKET, else /var/run/aesmd/aesm.socket when writable, else a per-user runtime
// directory. The state directory is the one every sim command uses (SQH_STATE_DIR, else
// /var/lib/sgx-quote-helper/sim when writable, else the XDG state dir). Extra arguments go to `serve`
// (and win over these defaults).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const extra = process.argv.slice(2);

// `npm install` builds dist/ (prepare); build it here if someone deleted it, so the daemon runs the
// compiled code production runs, and so the state-dir default comes from the one place that defines it.
const built = path.join(root, 'dist', 'cli', 'main.js');
if (!existsSync(built)) {
  process.stderr.write('sgx-quote-helper: dist/ is missing, building it first (npm run build)\n');
  const r = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const { canCreateOrWrite, resolveStateDir } = await import(path.join(root, 'dist', 'providers', 'sim', 'state-dir.js'));
// The V8 heap settings the daemon runs with everywhere (docs/operations.md, "Memory").
const { DAEMON_NODE_FLAGS, DAEMON_ENV } = await import(path.join(root, 'dist', 'daemon', 'node-flags.js'));
const stateDir = resolveStateDir();

const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
const runtimeDir = process.env.XDG_RUNTIME_DIR && canCreateOrWrite(process.env.XDG_RUNTIME_DIR) ? process.env.XDG_RUNTIME_DIR : os.tmpdir();
const socket =
  process.env.SQH_SOCKET ||
  (canCreateOrWrite('/var/run/aesmd') ? '/var/run/aesmd/aesm.socket' : path.join(runtimeDir, `sgx-quote-helper-${uid}`, 'aesm.socket'));
// In a shared /tmp another user could have created our directory first; never serve from theirs.
const socketDir = path.dirname(socket);
const perUserFallback = !process.env.SQH_SOCKET && socketDir.startsWith(runtimeDir);
if (perUserFallback && existsSync(socketDir) && typeof process.getuid === 'function' && statSync(socketDir).uid !== process.getuid()) {
  process.stderr.write(`sgx-quote-helper: ${socketDir} belongs to another user; set SQH_SOCKET to a path of your own\n`);
  process.exit(2);
}

const flagValue = (name) => {
  const i = extra.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  return extra[i].includes('=') ? extra[i].slice(name.length + 1) : extra[i + 1];
};
const shownSocket = flagValue('--socket') ?? socket;
const shownState = flagValue('--state-dir') ?? stateDir;
const ops = flagValue('--ops-listen') ?? process.env.SQH_OPS_LISTEN ?? '127.0.0.1:9464';

process.stderr.write(
  [
    'sgx-quote-helper: starting the quote daemon with the SIMULATED sim provider (quotes are not backed by SGX hardware)',
    `  AESM socket: ${shownSocket}`,
    `  state dir:   ${shownState}`,
    ops === 'off' ? '  ops:         off' : `  ops:         http://${ops}/healthz /readyz /metrics`,
    `  clients:     SQH_SOCKET=${shownSocket} (our client), or bind-mount it to /var/run/aesmd/aesm.socket (Intel's)`,
    '',
  ].join('\n'),
);

// The daemon runs in its own process group, so Ctrl-C reaches it once, forwarded from here. In the
// terminal's group it would get SIGINT twice (from the terminal and from us), and a second signal
// means "exit now, skip the drain" to the daemon, which would then leave its socket file behind.
const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, built, 'serve', '--provider', 'sim', '--init', ...extra], {
  stdio: ['ignore', 'inherit', 'inherit'],
  detached: true,
  env: { ...process.env, ...DAEMON_ENV, SQH_SOCKET: socket, SQH_STATE_DIR: stateDir },
});
// Under `npm start` one Ctrl-C arrives here twice (from the terminal and forwarded by npm): pass the
// same signal on once per second; a later one (a second Ctrl-C) stops the daemon without its drain.
// A closed terminal (SIGHUP) becomes an ordinary SIGTERM stop.
const lastForwarded = new Map();
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    const now = Date.now();
    if (now - (lastForwarded.get(sig) ?? -Infinity) < 1000) return;
    lastForwarded.set(sig, now);
    child.kill(sig === 'SIGHUP' ? 'SIGTERM' : sig);
  });
}
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
