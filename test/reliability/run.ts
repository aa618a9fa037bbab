// `npm run test:reliability`: runs every test/reliability/*.reliability.ts as its own tsx process,
// one after another in name order, passing its output through. Each file prints one line per
// scenario and exits non-zero if any failed; this exits non-zero if any file failed.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

const here = import.meta.dirname;
const files = readdirSync(here).filter((f) => f.endsWith('.reliability.ts')).sort();
const tsx = path.resolve(here, '../../node_modules/tsx/dist/cli.mjs');
let passed = 0;
let failed = 0;
for (const f of files) {
  console.log(`# ${f}`);
  const r = spawnSync(process.execPath, [tsx, path.join(here, f)], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status === 0) passed++;
  else {
    failed++;
    console.log(`# ${f} FAILED (exit ${r.status ?? r.signal})`);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && files.length > 0 ? 0 : 1);
