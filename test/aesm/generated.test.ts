// The committed src/aesm/gen must be exactly what `npm run generate` produces from proto/aesm.proto,
// so nobody edits generated code by hand or forgets to regenerate after a schema change.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = process.cwd();

describe('generated protobuf code', () => {
  let out: string | undefined;
  afterAll(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('is up to date with proto/aesm.proto', async () => {
    out = await mkdtemp(join(tmpdir(), 'aesm-gen-'));
    await run(join(root, 'node_modules/.bin/buf'), ['generate', '--output', out], { cwd: root });
    const fresh = join(out, 'src/aesm/gen');
    const committed = join(root, 'src/aesm/gen');
    expect(await readdir(fresh)).toEqual(await readdir(committed));
    for (const name of await readdir(fresh)) {
      expect(await readFile(join(committed, name), 'utf8'), name).toBe(await readFile(join(fresh, name), 'utf8'));
    }
  });
});
