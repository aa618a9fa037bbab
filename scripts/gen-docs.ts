/**
 * `npm run docs`: regenerate the blocks of docs/ that are made from code (scripts/doc-blocks.ts).
 * `npm run docs -- --check` only reports stale blocks and exits 1 if there are any.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DOC_BLOCKS, REPO, replaceBlock } from './doc-blocks.js';

const check = process.argv.includes('--check');
let stale = 0;
for (const file of new Set(DOC_BLOCKS.map((b) => b.file))) {
  const full = path.join(REPO, file);
  const before = readFileSync(full, 'utf8');
  let after = before;
  for (const block of DOC_BLOCKS.filter((b) => b.file === file)) after = replaceBlock(after, block.name, block.render());
  if (after === before) continue;
  stale++;
  if (check) process.stdout.write(`${file}: generated blocks are stale (run npm run docs)\n`);
  else {
    writeFileSync(full, after);
    process.stdout.write(`${file}: regenerated\n`);
  }
}
if (check && stale > 0) process.exitCode = 1;
