/**
 * Every test run gets its own temporary directory as TMPDIR (inherited by the processes tests spawn),
 * removed when the run ends, so no test leaves state dirs, sockets or bundles behind in /tmp.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sqh-test-'));
  // Like /tmp itself: some tests run the CLI as another user (e.g. `nobody`) and it needs a temp dir too.
  chmodSync(dir, 0o1777);
  process.env.TMPDIR = dir;
  return () => {
    if (!process.env.SQH_KEEP_TEST_TMP) rmSync(dir, { recursive: true, force: true });
  };
}
