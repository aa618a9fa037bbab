import 'reflect-metadata';
import { X509Certificate as PeculiarCert } from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import {
  encodePckExtension,
  encodeQuote,
  parseAttKeyIdExt,
  parseAttKeyIdList,
  parsePckExtension,
  parseQeReportInfo,
  parseQuote,
  parseReport,
  parseTargetInfo,
  pckCertChainPem,
  pckExtensionFromCertificate,
  SGX_EXTENSION_OID,
  SgxParseError,
} from '../../src/sgx/index.js';
import { prng } from '../support/prng.js';
import { QUOTE_FILES, td } from './testdata.js';

/**
 * Property: a parser either returns, or throws SgxParseError — never RangeError/TypeError/anything else.
 * For quotes that still parse, re-encoding must give the input back. Seeds are fixed: a failure names
 * its seed/case so it reproduces.
 */
function check<T>(label: string, input: Buffer, parse: (b: Buffer) => T, after?: (v: T, b: Buffer) => void): 'ok' | 'error' {
  let value: T;
  try {
    value = parse(input);
  } catch (e) {
    if (!(e instanceof SgxParseError)) {
      throw new Error(`${label}: threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    }
    return 'error';
  }
  after?.(value, input);
  return 'ok';
}

const roundTrip = (q: ReturnType<typeof parseQuote>, b: Buffer) => {
  if (!encodeQuote(q).equals(b)) throw new Error('parsed mutated quote does not re-encode to its input');
  pckCertChainPem(q);
};

function flipBits(src: Buffer, rnd: () => number, flips: number): Buffer {
  const b = Buffer.from(src);
  for (let i = 0; i < flips; i++) {
    const pos = Math.floor(rnd() * b.length);
    b[pos] ^= 1 << Math.floor(rnd() * 8);
  }
  return b;
}

describe('fuzz: parseQuote', () => {
  const quotes = QUOTE_FILES.map((f) => [f, td(f)] as const);

  it('every truncation of every testdata quote is rejected with SgxParseError or parses and round-trips', () => {
    let errors = 0;
    for (const [file, q] of quotes) {
      // Every prefix length; quotes with trailing bytes parse fine down to the end of their signature data.
      for (let len = 0; len < q.length; len++) {
        if (check(`${file} truncated to ${len}`, q.subarray(0, len), parseQuote, roundTrip) === 'error') errors++;
      }
    }
    expect(errors).toBeGreaterThan(30_000);
  });

  it('bit-flipped quotes (seeded)', () => {
    const seed = 0x5eed01;
    const rnd = prng(seed);
    const outcomes = { ok: 0, error: 0 };
    for (let i = 0; i < 6000; i++) {
      const [file, q] = quotes[i % quotes.length];
      const mutated = flipBits(q, rnd, 1 + Math.floor(rnd() * 4));
      outcomes[check(`seed ${seed} case ${i} (${file})`, mutated, parseQuote, roundTrip)]++;
    }
    // Most flips land in signature/report bytes the parser does not judge; some hit lengths and types.
    expect(outcomes.ok).toBeGreaterThan(0);
    expect(outcomes.error).toBeGreaterThan(0);
  });

  it('flips concentrated on the structural fields (header, lengths, types)', () => {
    const seed = 0x5eed02;
    const rnd = prng(seed);
    let errors = 0;
    const parsedAll = quotes.map(([, q]) => parseQuote(q));
    for (let i = 0; i < 4000; i++) {
      const [file, q] = quotes[i % quotes.length];
      const parsed = parsedAll[i % quotes.length];
      const sigStart = parsed.signedLength + 4;
      // Header, v5 body type/size, sig length, and the QE certification lengths/types (v3 and v4/v5 layouts).
      const hot = [0, 2, 4, 48, 50, 52, parsed.signedLength, parsed.signedLength + 2, sigStart + 128, sigStart + 130, sigStart + 134 + 448,
        sigStart + 576, sigStart + 578, sigStart + 610, sigStart + 612, sigStart + 614];
      const b = Buffer.from(q);
      const pos = Math.min(b.length - 1, hot[Math.floor(rnd() * hot.length)] + Math.floor(rnd() * 4));
      b[pos] = Math.floor(rnd() * 256);
      if (check(`seed ${seed} case ${i} (${file}) byte ${pos}`, b, parseQuote, roundTrip) === 'error') errors++;
    }
    expect(errors).toBeGreaterThan(1000);
  });

  it('random buffers, with and without a plausible header (seeded)', () => {
    const seed = 0x5eed03;
    const rnd = prng(seed);
    for (let i = 0; i < 3000; i++) {
      const len = Math.floor(rnd() * 6000);
      const b = Buffer.alloc(len);
      for (let j = 0; j < len; j++) b[j] = Math.floor(rnd() * 256);
      if (len >= 8 && i % 2 === 0) {
        b.writeUInt16LE(3 + (i % 3), 0);
        b.writeUInt16LE(2, 2);
        b.writeUInt32LE(i % 3 === 0 ? 0 : 0x81, 4);
        if (len >= 54 && i % 3 === 2) {
          b.writeUInt16LE(1 + (i % 3), 48);
          b.writeUInt32LE([384, 584, 648][i % 3], 50);
        }
      }
      check(`seed ${seed} case ${i}`, b, parseQuote, roundTrip);
    }
  });

  it('lying length fields: random signature data / auth / cert sizes', () => {
    const seed = 0x5eed04;
    const rnd = prng(seed);
    const sgx = td('dcap-qvl/sgx_quote');
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.from(sgx);
      const which = i % 3;
      const v = Math.floor(rnd() * 2 ** 32);
      if (which === 0) b.writeUInt32LE(v, 432);
      else if (which === 1) b.writeUInt16LE(v & 0xffff, 1012);
      else b.writeUInt32LE(v, 1048);
      check(`seed ${seed} case ${i}`, b, parseQuote, roundTrip);
    }
  });
});

describe('fuzz: fixed-size structures and the PCK extension', () => {
  it('fixed-size parsers take any bytes of the right size and reject every other size', () => {
    const rnd = prng(0x5eed05);
    const parsers: [string, (b: Buffer) => unknown, number][] = [
      ['report', parseReport, 432],
      ['targetInfo', parseTargetInfo, 512],
      ['attKeyId', parseAttKeyIdExt, 256],
      ['qeReportInfo', parseQeReportInfo, 960],
      ['attKeyIdList', parseAttKeyIdList, 8 + 256],
    ];
    for (const [name, parse, size] of parsers) {
      for (let i = 0; i < 300; i++) {
        const len = i % 3 === 0 ? size : Math.floor(rnd() * (size * 2 + 10));
        const b = Buffer.alloc(len);
        for (let j = 0; j < len; j++) b[j] = Math.floor(rnd() * 256);
        if (name === 'attKeyIdList' && len >= 8 && i % 2 === 0) b.writeUInt32LE(Math.floor(rnd() * 12), 4);
        const r = check(`${name} case ${i}`, b, parse);
        if (len !== size && name !== 'attKeyIdList') expect(r).toBe('error');
      }
    }
  });

  it('bit-flipped and truncated SGX extensions and certificates', () => {
    const seed = 0x5eed06;
    const rnd = prng(seed);
    const leaves = ['dcap-qvl/sgx_quote', 'dcap-qvl/tdx_quote'].map((f) => pckCertChainPem(parseQuote(td(f)))![0]);
    const exts = leaves.map((pem) => Buffer.from(new PeculiarCert(pem).getExtension(SGX_EXTENSION_OID)!.value));
    const ders = leaves.map((pem) => Buffer.from(new PeculiarCert(pem).rawData));
    let errors = 0;
    for (let i = 0; i < 1500; i++) {
      const ext = exts[i % exts.length];
      const mutated = i % 4 === 0 ? ext.subarray(0, Math.floor(rnd() * ext.length)) : flipBits(ext, rnd, 1 + Math.floor(rnd() * 3));
      const r = check(`ext seed ${seed} case ${i}`, mutated, parsePckExtension, (v) => {
        // Whatever parses must encode again without throwing anything but SgxParseError.
        check(`ext re-encode case ${i}`, mutated, () => encodePckExtension(v));
      });
      if (r === 'error') errors++;
    }
    for (let i = 0; i < 200; i++) {
      const der = ders[i % ders.length];
      const mutated = i % 3 === 0 ? der.subarray(0, Math.floor(rnd() * der.length)) : flipBits(der, rnd, 1 + Math.floor(rnd() * 3));
      check(`cert seed ${seed} case ${i}`, mutated, pckExtensionFromCertificate);
    }
    expect(errors).toBeGreaterThan(300);
  });
});
