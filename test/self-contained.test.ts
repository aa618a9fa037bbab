import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// A user's clone has nothing beside it: no file the project runs, tests or builds may reach outside
// the repository for data (the team's reference folder sits at ../shared on our own machines only).
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCANNED = ['src', 'test', 'bench', 'scripts', 'proto', 'deploy', 'examples', '.ci', 'package.json', 'Dockerfile', 'vitest.config.ts'];
const SKIP_DIRS = new Set(['node_modules', 'dist', 'fixtures']);
const THIS_FILE = fileURLToPath(import.meta.url);
// Quoted or joined path forms of the outside folder: '../shared', "..", "shared" and the like.
const OUTSIDE = [/\.\.[\\/]+shared\b/, /['"]\.\.['"]\s*,\s*['"]shared['"]/];

function files(path: string): string[] {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return [];
  if (st.isFile()) return [path];
  return readdirSync(path).flatMap((name) => (SKIP_DIRS.has(name) ? [] : files(join(path, name))));
}

describe('the repository is self-contained', () => {
  it('no source, test, bench, script or packaging file refers to ../shared', () => {
    const offenders: string[] = [];
    const scanned = SCANNED.flatMap((p) => files(join(ROOT, p))).filter((f) => f !== THIS_FILE);
    for (const file of scanned) {
      const text = readFileSync(file, 'utf8');
      text.split('\n').forEach((line, i) => {
        if (OUTSIDE.some((re) => re.test(line))) offenders.push(`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(scanned.length).toBeGreaterThan(100);
    expect(offenders).toEqual([]);
  });

  it('the test data ships with its provenance', () => {
    const provenance = readFileSync(join(ROOT, 'test/fixtures/testdata/PROVENANCE.md'), 'utf8');
    const data = files(join(ROOT, 'test/fixtures/testdata')).filter((f) => !f.endsWith('PROVENANCE.md'));
    expect(data.length).toBeGreaterThan(40);
    // Every data file is named in PROVENANCE.md (by its file name; the folder is the section).
    const missing = data.map((f) => f.split(/[\\/]/).pop()!).filter((name) => !provenance.includes(name));
    expect(missing).toEqual([]);
  });
});
