// Builds the C STAND-IN for Intel's DCAP libraries (test/dcap-standin/) with gcc into a fresh
// directory, and reads what it recorded. The stand-in replaces SGX hardware and Intel's binaries
// (an external boundary): same sonames, DT_NEEDED edges, exports and C ABI; patterns, not crypto.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const SRC = path.resolve(import.meta.dirname, '../dcap-standin');

export interface StandinBuild {
  /** Directory with libsgx_dcap_ql.so.1, libsgx_qe3_logic.so, libsgx_pce_logic.so.1 and libdcap_quoteprov.so.1. */
  libDir: string;
  /** The same libraries without the QPL (quotes carry an encrypted PPID). */
  libDirNoQpl: string;
  /** A directory with empty files named like the SGX device nodes (for the host check only). */
  deviceDir: string;
  /** Environment that points the stand-in at a script and a record file in `dir`. */
  env(dir: string): { SQH_DCAP_STANDIN_SCRIPT: string; SQH_DCAP_STANDIN_RECORD: string };
}

function gcc(args: string[]): void {
  const r = spawnSync('gcc', args, { cwd: SRC, encoding: 'utf8' });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error('gcc is required to build the DCAP stand-in libraries for the dcap tests (apt-get install gcc); these tests do not skip');
  }
  if (r.status !== 0) throw new Error(`gcc ${args.join(' ')} failed:\n${r.stderr}`);
}

function buildInto(dir: string, withQpl: boolean): void {
  mkdirSync(dir, { recursive: true });
  const cflags = ['-shared', '-fPIC', '-O1', '-Wall', '-Wextra', '-Werror'];
  gcc([...cflags, '-o', path.join(dir, 'libsgx_pce_logic.so.1'), '-Wl,-soname,libsgx_pce_logic.so.1', '-Wl,--version-script=pce-logic-standin.lds', 'pce-logic-standin.c']);
  // No -z defs: the PCE references stay undefined, as in Intel's libsgx_qe3_logic.so.
  gcc([...cflags, '-o', path.join(dir, 'libsgx_qe3_logic.so'), '-Wl,-soname,libsgx_qe3_logic.so', '-Wl,--version-script=qe3-logic-standin.lds', 'qe3-logic-standin.c', '-ldl', '-lpthread']);
  gcc([
    ...cflags,
    '-o', path.join(dir, 'libsgx_dcap_ql.so.1'),
    '-Wl,-soname,libsgx_dcap_ql.so.1',
    '-Wl,--version-script=dcap-ql-standin.lds',
    'dcap-ql-standin.c',
    `-L${dir}`,
    '-Wl,--no-as-needed',
    '-l:libsgx_qe3_logic.so',
    '-l:libsgx_pce_logic.so.1',
  ]);
  if (withQpl) gcc([...cflags, '-o', path.join(dir, 'libdcap_quoteprov.so.1'), '-Wl,-soname,libdcap_quoteprov.so.1', '-Wl,--version-script=quoteprov-standin.lds', 'quoteprov-standin.c']);
}

export function buildDcapStandin(): StandinBuild {
  const root = mkdtempSync(path.join(process.env.TMPDIR ?? os.tmpdir(), 'dcap-standin-'));
  const libDir = path.join(root, 'lib');
  const libDirNoQpl = path.join(root, 'lib-noqpl');
  buildInto(libDir, true);
  buildInto(libDirNoQpl, false);
  const deviceDir = path.join(root, 'dev');
  mkdirSync(deviceDir);
  writeFileSync(path.join(deviceDir, 'sgx_enclave'), '');
  writeFileSync(path.join(deviceDir, 'sgx_provision'), '');
  return {
    libDir,
    libDirNoQpl,
    deviceDir,
    env: (dir) => ({ SQH_DCAP_STANDIN_SCRIPT: path.join(dir, 'standin-script.txt'), SQH_DCAP_STANDIN_RECORD: path.join(dir, 'standin-record.txt') }),
  };
}

/** One call as the stand-in recorded it. Byte arguments are Buffers, numbers are numbers, NULL is null. */
export interface StandinCall {
  fn: string;
  pid: number;
  t0: bigint;
  t1: bigint;
  conc: number;
  ret: number;
  in: Record<string, Buffer | number | string | null>;
  out: Record<string, Buffer | number | string | null>;
}

const HEX = /^(?:[0-9a-f]{2})+$/;
const BYTE_ARGS = new Set(['att_key_id', 'target_info', 'pub_key_id', 'report', 'qe_report_info', 'quote', 'att_key_id_ext', 'misc_attr', 'target', 'qe3_id']);

export function readStandinRecord(recordFile: string): StandinCall[] {
  if (!existsSync(recordFile)) return [];
  return readFileSync(recordFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const call: StandinCall = { fn: '', pid: 0, t0: 0n, t1: 0n, conc: 0, ret: 0, in: {}, out: {} };
      for (const tok of line.split(' ')) {
        const eq = tok.indexOf('=');
        const k = tok.slice(0, eq);
        const v = tok.slice(eq + 1);
        if (k === 'fn') call.fn = v;
        else if (k === 'pid') call.pid = Number(v);
        else if (k === 't0') call.t0 = BigInt(v);
        else if (k === 't1') call.t1 = BigInt(v);
        else if (k === 'conc') call.conc = Number(v);
        else if (k === 'ret') call.ret = Number(v);
        else if (k.startsWith('in.') || k.startsWith('out.')) {
          const [side, name] = k.split('.') as ['in' | 'out', string];
          call[side][name] = v === 'null' ? null : BYTE_ARGS.has(name) && HEX.test(v) ? Buffer.from(v, 'hex') : /^\d+$/.test(v) ? Number(v) : v;
        } else (call.in as Record<string, unknown>)[k] = v;
      }
      return call;
    });
}

/** Replace the stand-in's script (it re-reads the file on every call). */
export function writeStandinScript(scriptFile: string, lines: string[]): void {
  writeFileSync(scriptFile, lines.map((l) => `${l}\n`).join(''));
}
