// The docs' generated blocks against the tables they are made from, and the troubleshooting table
// against every code the code defines: a new AESM code, sgx_status_t, quote3_error_t, verifier
// reason or exit code without a hint fails here.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DOC_BLOCKS, REPO, readBlock, replaceBlock, beginMarker, endMarker } from '../../scripts/doc-blocks.js';
import { CODE_HINTS, hintFor, knownCodes, type CodeFamily } from '../../src/troubleshooting/codes.js';
import { SERVE_SETTINGS } from '../../src/daemon/settings.js';

const FAMILIES: readonly CodeFamily[] = ['aesm', 'sgx_status', 'quote3', 'verify', 'exit'];

describe('generated doc blocks', () => {
  for (const block of DOC_BLOCKS) {
    it(`${block.file} "${block.name}" is what the code generates (run npm run docs if this fails)`, () => {
      expect(readBlock(block)).toBe(block.render());
    });
  }

  it('replaceBlock rewrites only between the markers and refuses a doc without them', () => {
    const doc = `before\n${beginMarker('x')}\nold\n${endMarker('x')}\nafter\n`;
    expect(replaceBlock(doc, 'x', 'new')).toBe(`before\n${beginMarker('x')}\nnew\n${endMarker('x')}\nafter\n`);
    expect(() => replaceBlock('no markers', 'x', 'new')).toThrow(/markers/);
  });

  it('the operations Options table has a row per setting naming its flag, env var and config key', () => {
    const ops = readFileSync(path.join(REPO, 'docs/operations.md'), 'utf8');
    for (const x of SERVE_SETTINGS) {
      const row = ops.split('\n').find((l) => l.startsWith(`| \`${x.flag}`));
      expect(row, x.flag).toBeDefined();
      expect(row).toContain(`\`${x.env}\``);
      expect(row).toContain(`\`${x.key}\``);
    }
  });
});

describe('environment variables', () => {
  it('every SQH_* variable named in src/ is documented in docs/operations.md', () => {
    const ops = readFileSync(path.join(REPO, 'docs/operations.md'), 'utf8');
    const files = readdirSync(path.join(REPO, 'src'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const names = new Set(files.flatMap((f) => [...readFileSync(path.join(REPO, 'src', f), 'utf8').matchAll(/\bSQH_[A-Z0-9_]+\b/g)].map((m) => m[0])));
    expect(names.size).toBeGreaterThan(25);
    expect([...names].filter((n) => !ops.includes(`\`${n}\``)).sort()).toEqual([]);
  });
});

describe('troubleshooting table', () => {
  for (const family of FAMILIES) {
    it(`has causes and a fix for every ${family} code the code defines`, () => {
      const missing = [...knownCodes(family)].filter(([code]) => !hintFor(family, code)).map(([code, name]) => `${typeof code === 'number' ? `0x${code.toString(16)}` : code} ${name}`);
      expect(missing).toEqual([]);
    });
  }

  it('names no code the code does not define, and each code in one row only', () => {
    const seen = new Set<string>();
    for (const h of CODE_HINTS) {
      const known = knownCodes(h.family);
      for (const c of h.codes) {
        expect(known.has(c), `${h.family} ${c}`).toBe(true);
        const key = `${h.family}:${c}`;
        expect(seen.has(key), `${key} twice`).toBe(false);
        seen.add(key);
      }
      expect(h.causes.length).toBeGreaterThan(10);
      expect(h.fix.length).toBeGreaterThan(0);
    }
  });

  it('puts the codes users report in the doc with their names (0x4001, 0x4002, 0x3001, 0x8001, 0xE040, 0xE00F, 0xE011, 0xE019)', () => {
    const doc = readFileSync(path.join(REPO, 'docs/troubleshooting.md'), 'utf8');
    for (const s of ['0x4001 SGX_ERROR_SERVICE_UNAVAILABLE', '0x4002 SGX_ERROR_SERVICE_TIMEOUT', '0x3001 SGX_ERROR_MAC_MISMATCH', '0x8001 SGX_ERROR_UNSUPPORTED_ATT_KEY_ID', '0xE040 SGX_QL_SERVICE_UNAVAILABLE', '0xE00F SGX_QL_ATT_KEY_NOT_INITIALIZED', '0xE011 SGX_QL_NO_PLATFORM_CERT_DATA', '0xE019 SGX_QL_NETWORK_ERROR', '42 AESM_ATT_KEY_NOT_INITIALIZED', '`PCK_CHAIN_UNTRUSTED`']) {
      expect(doc).toContain(s);
    }
  });
});
