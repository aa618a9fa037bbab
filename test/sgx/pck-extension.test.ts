import 'reflect-metadata';
import { X509Certificate as PeculiarCert } from '@peculiar/x509';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  encodePckExtension,
  parsePckExtension,
  parseQuote,
  pckCertChainPem,
  pckExtensionFromCertificate,
  type PckExtension,
  SGX_EXTENSION_OID,
  SgxParseError,
} from '../../src/sgx/index.js';
import { TESTDATA, td } from './testdata.js';

/** The extension's raw value via an independent parser (@peculiar/x509), to compare bytes. */
function rawExtension(pem: string): Buffer {
  const ext = new PeculiarCert(pem).getExtension(SGX_EXTENSION_OID);
  if (!ext) throw new Error('no SGX extension');
  return Buffer.from(ext.value);
}

const leafOf = (file: string) => pckCertChainPem(parseQuote(td(file)))![0];

describe('PCK certificate SGX extension', () => {
  it('decodes the mobilecoin processor-CA leaf (spec §3.2 values)', () => {
    const pem = readFileSync(`${TESTDATA}/mobilecoin/leaf_cert.pem`, 'utf8');
    const ext = pckExtensionFromCertificate(pem);
    expect(ext.tcb.compSvns).toEqual([17, 17, 2, 4, 1, 128, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(ext.tcb.pceSvn).toBe(11);
    expect(ext.tcb.cpuSvn.toString('hex')).toBe('11110204018006000000000000000000');
    expect(ext.pceId.toString('hex')).toBe('0000');
    expect(ext.fmspc.toString('hex').toUpperCase()).toBe('00906ED50000');
    expect(ext.sgxType).toBe(0);
    expect(ext.ppid.length).toBe(16);
    expect(ext.platformInstanceId).toBeUndefined();
    expect(ext.configuration).toBeUndefined();
    // DER input works the same as PEM.
    const der = new PeculiarCert(pem).rawData;
    expect(pckExtensionFromCertificate(Buffer.from(der))).toEqual(ext);
  });

  it('decodes the dcap-qvl SGX leaf: SVN 255, FMSPC 00A067110000', () => {
    const ext = pckExtensionFromCertificate(leafOf('dcap-qvl/sgx_quote'));
    expect(ext.tcb.compSvns.slice(0, 6)).toEqual([11, 11, 2, 2, 255, 1]);
    expect(ext.tcb.cpuSvn.toString('hex')).toBe('0b0b0202ff0100000000000000000000');
    expect(ext.fmspc.toString('hex').toUpperCase()).toBe('00A067110000');
  });

  it('decodes the platform-CA leaf of the dcap-qvl TDX quote (7 entries)', () => {
    const ext = pckExtensionFromCertificate(leafOf('dcap-qvl/tdx_quote'));
    expect(ext.fmspc.toString('hex').toUpperCase()).toBe('B0C06F000000');
    expect(ext.sgxType).toBe(1);
    expect(ext.platformInstanceId?.length).toBe(16);
    expect(ext.configuration).toEqual({ dynamicPlatform: true, cachedKeys: true, smtEnabled: true });
  });

  for (const [name, pem] of [
    ['mobilecoin leaf (processor CA)', () => readFileSync(`${TESTDATA}/mobilecoin/leaf_cert.pem`, 'utf8')],
    ['dcap-qvl SGX leaf (processor CA)', () => leafOf('dcap-qvl/sgx_quote')],
    ['dcap-qvl TDX leaf (platform CA)', () => leafOf('dcap-qvl/tdx_quote')],
    ['go-tdx-guest v5 leaf (platform CA)', () => leafOf('go-tdx-guest/quote_v5_sample.dat')],
  ] as const) {
    it(`re-encodes ${name} byte-identically to Intel's DER`, () => {
      const raw = rawExtension(pem());
      const ext = parsePckExtension(raw);
      expect(encodePckExtension(ext).equals(raw)).toBe(true);
    });
  }

  const sample: PckExtension = {
    ppid: Buffer.alloc(16, 0x11),
    tcb: { compSvns: [17, 17, 2, 4, 1, 128, 6, 0, 0, 0, 0, 0, 0, 0, 0, 255], pceSvn: 300, cpuSvn: Buffer.alloc(16, 2) },
    pceId: Buffer.from('0000', 'hex'),
    fmspc: Buffer.from('00aa55110000', 'hex'),
    sgxType: 0,
  };

  it('encodes a processor-CA extension with 5 entries, minimal INTEGERs and ENUMERATED SGX type', () => {
    const der = encodePckExtension(sample);
    const hex = der.toString('hex');
    expect(hex).toContain('020200' + '80'); // 128 → 02 02 00 80
    expect(hex).toContain('020200ff'); // 255 → 02 02 00 FF
    expect(hex).toContain('0201' + '11'); // 17 → 02 01 11
    expect(hex).toContain('0202012c'); // PCESVN 300
    expect(hex).toMatch(/060a2a864886f84d010d01050a0100$/); // OID …1.13.1.5, ENUMERATED 0
    // Top-level SEQUENCE holds exactly 5 entries.
    const parsed = parsePckExtension(der);
    expect(parsed).toEqual(sample);
    expect(countTopLevelEntries(der)).toBe(5);
  });

  it('encodes a platform-CA extension with 7 entries', () => {
    const ext = { ...sample, sgxType: 1, platformInstanceId: Buffer.alloc(16, 9), configuration: { dynamicPlatform: true, cachedKeys: false, smtEnabled: true } };
    const der = encodePckExtension(ext);
    expect(countTopLevelEntries(der)).toBe(7);
    expect(parsePckExtension(der)).toEqual(ext);
    expect(der.toString('hex')).toContain('0101ff'); // BOOLEAN TRUE
  });

  it('rejects bad values on encode', () => {
    expect(() => encodePckExtension({ ...sample, fmspc: Buffer.alloc(5) })).toThrow(SgxParseError);
    expect(() => encodePckExtension({ ...sample, tcb: { ...sample.tcb, compSvns: [1, 2] } })).toThrow(/compSvns/);
    expect(() => encodePckExtension({ ...sample, tcb: { ...sample.tcb, pceSvn: 70000 } })).toThrow(/pceSvn/);
    expect(() => encodePckExtension({ ...sample, platformInstanceId: Buffer.alloc(16) })).toThrow(/configuration/);
  });

  it('rejects malformed extension DER with a typed error', () => {
    const good = encodePckExtension(sample);
    const codeOf = (b: Buffer) => {
      try {
        parsePckExtension(b);
      } catch (e) {
        expect(e).toBeInstanceOf(SgxParseError);
        return (e as SgxParseError).code + ':' + (e as SgxParseError).field;
      }
      return 'ok';
    };
    expect(codeOf(Buffer.from([0x30, 0x05, 1]))).toMatch(/^INVALID_ENCODING/);
    expect(codeOf(Buffer.concat([good, Buffer.from([0])]))).toMatch(/^INVALID_ENCODING/);
    expect(codeOf(Buffer.from('0400', 'hex'))).toMatch(/^INVALID_ENCODING:pckExtension/);
    // FMSPC of 5 bytes.
    const noFmspc = encodePckExtension({ ...sample });
    const fmspcAt = noFmspc.indexOf(Buffer.from('0406' + '00aa55110000', 'hex'));
    const bad = Buffer.from(noFmspc);
    bad[fmspcAt + 1] = 5; // the OCTET STRING now claims 5 bytes: the DER no longer lines up
    expect(codeOf(bad)).not.toBe('ok');
    // A certificate without the extension (the root CA).
    const root = readFileSync(`${TESTDATA}/mobilecoin/root_ca.pem`, 'utf8');
    expect(() => pckExtensionFromCertificate(root)).toThrow(/no SGX extension/);
    expect(() => pckExtensionFromCertificate('not a certificate')).toThrow(SgxParseError);
  });

  it('rejects an extension that lacks a required entry, naming it', () => {
    const e = { ...sample };
    const der = encodePckExtension(e);
    // Replace the FMSPC OID's last arc (.4) with .9 so the entry is unknown and FMSPC is missing.
    const oidFmspc = Buffer.from('060a2a864886f84d010d0104', 'hex');
    const at = der.indexOf(oidFmspc);
    const mutated = Buffer.from(der);
    mutated[at + oidFmspc.length - 1] = 9;
    let err: SgxParseError | undefined;
    try {
      parsePckExtension(mutated);
    } catch (x) {
      err = x as SgxParseError;
    }
    expect(err).toBeInstanceOf(SgxParseError);
    expect(err!.field).toBe('pckExtension.fmspc');
    expect(err!.code).toBe('INVALID_VALUE');
  });
});

function countTopLevelEntries(der: Buffer): number {
  // SEQUENCE header (30 82 LL LL or 30 81 LL or 30 LL), then count the child SEQUENCEs.
  let off = der[1] & 0x80 ? 2 + (der[1] & 0x7f) : 2;
  let n = 0;
  while (off < der.length) {
    const l = der[off + 1];
    const [len, head] = l & 0x80 ? [der.readUIntBE(off + 2, l & 0x7f), 2 + (l & 0x7f)] : [l, 2];
    off += head + len;
    n++;
  }
  return n;
}

describe('certificate input forms', () => {
  it('accepts PEM as a string, PEM bytes with a text preamble, and DER', () => {
    const pem = readFileSync(`${TESTDATA}/mobilecoin/leaf_cert.pem`, 'utf8');
    const expected = pckExtensionFromCertificate(pem);
    expect(pckExtensionFromCertificate(Buffer.from(`Leaf certificate:\n${pem}`))).toEqual(expected);
    expect(pckExtensionFromCertificate(Buffer.from(new PeculiarCert(pem).rawData))).toEqual(expected);
  });
});
