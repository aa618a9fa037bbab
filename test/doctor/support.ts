// Shared pieces of the doctor tests: a fake filesystem root (temp dir) with /dev, /etc, library dirs
// and /proc laid out as on a node. A FAKE /dev TREE STANDS IN FOR SGX HARDWARE: device names that must
// be real character devices are symlinks to /dev/null (a real character device on every Linux, what
// the check stats through the link, as it does for the legacy /dev/sgx/* links); regular files with
// real modes and owners stand in for nodes the test wants unusable.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ProcessIdentity } from '../../src/doctor/index.js';

export interface FakeRoot {
  dir: string;
  /** A real character device at `rel` (e.g. 'dev/sgx_enclave'). */
  device(rel: string): void;
  /** A regular file at `rel` with this mode (owned by whoever runs the tests). */
  file(rel: string, content?: string, mode?: number): void;
  cleanup(): void;
}

export function fakeRoot(prefix = 'sqh-doc-'): FakeRoot {
  // Short base: socket paths made in here must stay under the AF_UNIX limit.
  const dir = mkdtempSync(path.join('/tmp', prefix));
  const parent = (rel: string) => mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  return {
    dir,
    device(rel) {
      parent(rel);
      symlinkSync('/dev/null', path.join(dir, rel));
    },
    file(rel, content = '', mode = 0o644) {
      parent(rel);
      const p = path.join(dir, rel);
      writeFileSync(p, content);
      chmodSync(p, mode);
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** An unprivileged process identity (uid and primary group 4242, not the test runner) with these extra groups. */
export function user(groups: number[] = []): ProcessIdentity {
  return { uid: 4242, gid: 4242, groups };
}
