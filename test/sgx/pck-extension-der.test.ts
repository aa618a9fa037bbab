import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  certificateDer,
  encodePckExtension,
  parsePckExtension,
  pckExtensionFromCertificate,
  type PckExtension,
  SgxParseError,
} from '../../src/sgx/index.js';
import { expectParseError } from './expect-parse-error.js';
import { TESTDATA } from './testdata.js';

/**
 * The SGX extension parser on hand-built DER, one rule broken at a time (written for mutation testing,
 * docs/mutation-testing.md): its values (TCB SVNs, FMSPC, PCE-ID) decide the TCB level, so each tag,
 * size, range and shape rule must refuse, naming the field.
 */
const h = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const b: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) b.unshift(v & 0xff);
  return Buffer.from([0x80 | b.length, ...b]);
}
const tlv = (tag: number, c: Buffer) => Buffer.concat([Buffer.from([tag]), len(c.length), c]);
const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out: number[] = [];
  for (const arc of [a * 40 + b, ...rest]) {
    const bytes = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) bytes.unshift((v & 0x7f) | 0x80);
    out.push(...bytes);
  }
  return tlv(0x06, Buffer.from(out));
}
const int = (n: number) => tlv(0x02, n < 0x80 ? Buffer.from([n]) : n < 0x8000 ? Buffer.from([n >> 8, n & 0xff]) : Buffer.from([0, n >> 8, n & 0xff]));
const octets = (n: number, fill = 0x11) => tlv(0x04, Buffer.alloc(n, fill));
const pair = (o: string, v: Buffer) => seq(oid(o), v);

const S = '1.2.840.113741.1.13.1';
interface Parts {
  ppid?: Buffer;
  comp?: (i: number) => Buffer;
  pceSvn?: Buffer;
  cpuSvn?: Buffer;
  pceId?: Buffer;
  fmspc?: Buffer;
  sgxType?: Buffer;
  extraTop?: Buffer[];
  extraTcb?: Buffer[];
}
/** The extension value in Intel's layout, with any part replaced. */
function ext(p: Parts = {}): Buffer {
  const tcb = [];
  for (let i = 1; i <= 16; i++) tcb.push(pair(`${S}.2.${i}`, p.comp?.(i) ?? int(i)));
  tcb.push(pair(`${S}.2.17`, p.pceSvn ?? int(13)), pair(`${S}.2.18`, p.cpuSvn ?? octets(16, 0x22)), ...(p.extraTcb ?? []));
  return seq(
    pair(`${S}.1`, p.ppid ?? octets(16, 0x33)),
    pair(`${S}.2`, seq(...tcb)),
    pair(`${S}.3`, p.pceId ?? octets(2, 0x44)),
    pair(`${S}.4`, p.fmspc ?? octets(6, 0x55)),
    pair(`${S}.5`, p.sgxType ?? tlv(0x0a, Buffer.from([1]))),
    ...(p.extraTop ?? []),
  );
}
const bool = (v: number) => tlv(0x01, Buffer.from([v]));
const config = (...flags: Buffer[]) => pair(`${S}.7`, seq(...flags));

describe('parsePckExtension on hand-built DER', () => {
  it('the reference value parses', () => {
    const e = parsePckExtension(ext());
    expect(e.tcb.compSvns).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    expect(e.tcb.pceSvn).toBe(13);
    expect(e.sgxType).toBe(1);
    expect(e.fmspc.equals(Buffer.alloc(6, 0x55))).toBe(true);
    expect(e.platformInstanceId).toBeUndefined();
  });

  it('SVN ranges: 255 and 65535 are the largest, negative and wider values are refused', () => {
    expect(parsePckExtension(ext({ comp: (i) => (i === 3 ? int(255) : int(1)) })).tcb.compSvns[2]).toBe(255);
    expect(parsePckExtension(ext({ pceSvn: int(0xffff) })).tcb.pceSvn).toBe(0xffff);
    expect(parsePckExtension(ext({ comp: () => tlv(0x02, h('00000007')) })).tcb.compSvns[0]).toBe(7); // 4 content bytes still read
    const over = expectParseError(() => parsePckExtension(ext({ comp: (i) => (i === 3 ? int(256) : int(1)) })), 'INVALID_VALUE', /^pckExtension\.tcb\.comp3$/);
    expect(over.message).toContain('value out of range 0..255');
    expectParseError(() => parsePckExtension(ext({ pceSvn: tlv(0x02, h('010000')) })), 'INVALID_VALUE', /^pckExtension\.tcb\.pceSvn$/);
    expectParseError(() => parsePckExtension(ext({ comp: () => tlv(0x02, h('80')) })), 'INVALID_VALUE', /^pckExtension\.tcb\.comp1$/);
    expectParseError(() => parsePckExtension(ext({ comp: () => tlv(0x02, h('0000000001')) })), 'INVALID_VALUE', /^pckExtension\.tcb\.comp1$/);
    expectParseError(() => parsePckExtension(ext({ sgxType: tlv(0x0a, h('0100')) })), 'INVALID_VALUE', /^pckExtension\.sgxType$/);
  });

  it('wrong tags and sizes name the field', () => {
    expect(expectParseError(() => parsePckExtension(ext({ ppid: int(1) })), 'INVALID_ENCODING', /^pckExtension\.ppid$/).message).toContain('expected an OCTET STRING');
    expect(expectParseError(() => parsePckExtension(ext({ ppid: octets(15) })), 'INVALID_VALUE', /^pckExtension\.ppid$/).message).toContain('expected 16 bytes, got 15');
    expectParseError(() => parsePckExtension(ext({ cpuSvn: octets(17) })), 'INVALID_VALUE', /^pckExtension\.tcb\.cpuSvn$/);
    expectParseError(() => parsePckExtension(ext({ pceId: octets(3) })), 'INVALID_VALUE', /^pckExtension\.pceId$/);
    expectParseError(() => parsePckExtension(ext({ fmspc: octets(5) })), 'INVALID_VALUE', /^pckExtension\.fmspc$/);
    expect(expectParseError(() => parsePckExtension(ext({ comp: () => octets(1) })), 'INVALID_ENCODING', /^pckExtension\.tcb\.comp1$/).message).toContain('expected an INTEGER');
    expect(expectParseError(() => parsePckExtension(ext({ sgxType: int(1) })), 'INVALID_ENCODING', /^pckExtension\.sgxType$/).message).toContain('expected an ENUMERATED');
    expect(expectParseError(() => parsePckExtension(ext({ comp: () => tlv(0x02, Buffer.alloc(0)) })), 'INVALID_ENCODING', /^pckExtension\.tcb\.comp1$/).message).toContain('empty INTEGER');
  });

  it('a missing entry names it', () => {
    const noTcb = seq(pair(`${S}.1`, octets(16)), pair(`${S}.3`, octets(2)), pair(`${S}.4`, octets(6)), pair(`${S}.5`, tlv(0x0a, h('00'))));
    expect(expectParseError(() => parsePckExtension(noTcb), 'INVALID_VALUE', /^pckExtension\.tcb$/).message).toContain(`missing entry ${S}.2`);
    const noComp5 = parsePckExtension.bind(null, ext({ comp: (i) => (i === 5 ? int(5) : int(1)) }));
    expect(noComp5().tcb.compSvns[4]).toBe(5);
  });

  it('entries must be SEQUENCE { OBJECT IDENTIFIER, value }, each OID once', () => {
    const three = seq(oid(`${S}.9`), int(1), int(2));
    expect(expectParseError(() => parsePckExtension(ext({ extraTop: [three] })), 'INVALID_ENCODING', /^pckExtension\.entry$/).message).toContain(
      'expected SEQUENCE { OBJECT IDENTIFIER, value }',
    );
    expectParseError(() => parsePckExtension(ext({ extraTop: [seq(int(1), int(2))] })), 'INVALID_ENCODING', /^pckExtension\.entry$/);
    expectParseError(() => parsePckExtension(ext({ extraTop: [seq(oid(`${S}.9`))] })), 'INVALID_ENCODING', /^pckExtension\.entry$/);
    const dup = expectParseError(() => parsePckExtension(ext({ extraTop: [pair(`${S}.4`, octets(6))] })), 'INVALID_ENCODING', new RegExp(`^pckExtension\\[${S.replace(/\./g, '\\.')}\\.4\\]$`));
    expect(dup.message).toContain('duplicate entry');
    expectParseError(() => parsePckExtension(ext({ extraTcb: [pair(`${S}.2.17`, int(1))] })), 'INVALID_ENCODING', /^pckExtension\.tcb\[.*\.2\.17\]$/);
    // An entry that is not a SEQUENCE at all.
    expect(expectParseError(() => parsePckExtension(ext({ extraTop: [int(1)] })), 'INVALID_ENCODING', /^pckExtension\.entry$/).message).toContain('expected a SEQUENCE');
  });

  it('OBJECT IDENTIFIERs are decoded exactly (the duplicate message shows the decoded text)', () => {
    const dupOf = (o: Buffer) => {
      try {
        parsePckExtension(ext({ extraTop: [seq(o, int(0)), seq(o, int(0))] }));
      } catch (e) {
        return (e as SgxParseError).field;
      }
      return 'accepted';
    };
    expect(dupOf(oid('2.100.3'))).toBe('pckExtension[2.100.3]');
    expect(dupOf(oid('1.2.16385'))).toBe('pckExtension[1.2.16385]'); // an arc with a 0x80 byte inside it
    expect(dupOf(oid('0.39.1'))).toBe('pckExtension[0.39.1]');
    expect(dupOf(oid('1.0'))).toBe('pckExtension[1.0]');
    expect(dupOf(oid('2.0'))).toBe('pckExtension[2.0]');
    // Not OIDs: empty, a last byte with the continuation bit, a non-minimal arc (first or later), an arc above 2^40.
    for (const bad of ['0600', '06022a81', '0602802a', '06032a8001', '06082aa0a0a0a0a0a001']) {
      expect(dupOf(h(bad))).toBe('pckExtension.entry');
    }
    expect(dupOf(oid(`1.2.${2 ** 40}`))).toBe(`pckExtension[1.2.${2 ** 40}]`);
  });

  it('configuration flags must be one-byte BOOLEANs; absent ones read as false', () => {
    const pii = pair(`${S}.6`, octets(16, 0x66));
    const e = parsePckExtension(ext({ extraTop: [pii, config(pair(`${S}.7.1`, bool(0xff)), pair(`${S}.7.3`, bool(0)))] }));
    expect(e.platformInstanceId?.equals(Buffer.alloc(16, 0x66))).toBe(true);
    expect(e.configuration).toEqual({ dynamicPlatform: true, cachedKeys: false, smtEnabled: false });
    expect(
      expectParseError(() => parsePckExtension(ext({ extraTop: [pii, config(pair(`${S}.7.2`, int(1)))] })), 'INVALID_ENCODING', /^pckExtension\.configuration\.cachedKeys$/).message,
    ).toContain('expected a BOOLEAN');
    expectParseError(() => parsePckExtension(ext({ extraTop: [pii, config(pair(`${S}.7.1`, tlv(0x01, h('0101'))))] })), 'INVALID_ENCODING', /^pckExtension\.configuration\.dynamicPlatform$/);
    expectParseError(() => parsePckExtension(ext({ extraTop: [pii, config(pair(`${S}.7.3`, tlv(0x01, Buffer.alloc(0))))] })), 'INVALID_ENCODING', /^pckExtension\.configuration\.smtEnabled$/);
    expectParseError(() => parsePckExtension(ext({ extraTop: [pair(`${S}.6`, octets(15))] })), 'INVALID_VALUE', /^pckExtension\.platformInstanceId$/);
    expectParseError(() => parsePckExtension(ext({ extraTop: [pair(`${S}.7`, int(1))] })), 'INVALID_ENCODING', /^pckExtension\.configuration$/);
  });

  it('DER framing: empty, trailing bytes, elements that overrun, multi-byte tags; offsets include the base', () => {
    expect(expectParseError(() => parsePckExtension(Buffer.alloc(0)), 'INVALID_ENCODING', /^pckExtension$/, 0).message).toContain('not valid DER: empty');
    const trailing = Buffer.concat([ext(), h('0000')]);
    expect(expectParseError(() => parsePckExtension(trailing, 100), 'INVALID_ENCODING', /^pckExtension$/, 100 + trailing.length - 2).message).toContain('2 bytes after the DER value');
    expect(expectParseError(() => parsePckExtension(h('3005 01'), 7), 'INVALID_ENCODING', /^pckExtension$/, 7).message).toContain('element does not fit its container');
    expect(expectParseError(() => parsePckExtension(h('3f0100')), 'INVALID_ENCODING', /^pckExtension$/, 0).message).toContain('multi-byte tag');
    expectParseError(() => parsePckExtension(ext({ extraTop: [h('3f0100')] })), 'INVALID_ENCODING', /^pckExtension$/);
    // The offset of a bad entry inside the value, plus the base.
    const v = ext({ ppid: int(1) });
    const e = expectParseError(() => parsePckExtension(v, 1000), 'INVALID_ENCODING', /^pckExtension\.ppid$/);
    expect(e.offset).toBe(1000 + v.indexOf(int(1), v.indexOf(oid(`${S}.1`))));
    expectParseError(() => parsePckExtension('x' as unknown as Uint8Array, 5), 'INVALID_VALUE', /^pckExtension$/, 5);
  });
});

describe('encodePckExtension names what it refuses', () => {
  const sample = parsePckExtension(ext());
  it('SVN ranges, sizes and a missing tcb', () => {
    for (const bad of [-1, 256, 1.5]) {
      expectParseError(() => encodePckExtension({ ...sample, tcb: { ...sample.tcb, compSvns: [bad, ...sample.tcb.compSvns.slice(1)] } }), 'INVALID_VALUE', /^pckExtension\.tcb\.compSvns\[0\]$/);
    }
    expect(encodePckExtension({ ...sample, tcb: { ...sample.tcb, compSvns: [255, ...sample.tcb.compSvns.slice(1)] } }).length).toBeGreaterThan(0);
    expect(expectParseError(() => encodePckExtension({ ...sample, tcb: { ...sample.tcb, compSvns: [1] } }), 'INVALID_VALUE', /^pckExtension\.tcb\.compSvns$/).message).toContain('must hold 16 SVNs');
    expectParseError(() => encodePckExtension({ ...sample, tcb: undefined } as unknown as PckExtension), 'INVALID_VALUE', /^pckExtension\.tcb\.compSvns$/);
    expectParseError(() => encodePckExtension({ ...sample, tcb: { ...sample.tcb, cpuSvn: Buffer.alloc(1) } }), 'INVALID_VALUE', /^pckExtension\.tcb\.cpuSvn$/);
    expect(expectParseError(() => encodePckExtension({ ...sample, ppid: Buffer.alloc(1) }), 'INVALID_VALUE', /^pckExtension\.ppid$/).message).toContain('must be 16 bytes');
    expectParseError(() => encodePckExtension({ ...sample, pceId: Buffer.alloc(1) }), 'INVALID_VALUE', /^pckExtension\.pceId$/);
    expectParseError(() => encodePckExtension({ ...sample, fmspc: Buffer.alloc(1) }), 'INVALID_VALUE', /^pckExtension\.fmspc$/);
    expectParseError(() => encodePckExtension({ ...sample, sgxType: 256 }), 'INVALID_VALUE', /^pckExtension\.sgxType$/);
    const cfg = { dynamicPlatform: true, cachedKeys: false, smtEnabled: true };
    expectParseError(() => encodePckExtension({ ...sample, platformInstanceId: Buffer.alloc(1), configuration: cfg }), 'INVALID_VALUE', /^pckExtension\.platformInstanceId$/);
    expect(expectParseError(() => encodePckExtension({ ...sample, configuration: cfg }), 'INVALID_VALUE', /^pckExtension\.platformInstanceId$/).message).toContain('go together');
  });
});

describe('certificates: input forms and the extension search', () => {
  const LEAF = readFileSync(`${TESTDATA}/mobilecoin/leaf_cert.pem`, 'utf8');
  const der = certificateDer(LEAF);

  it('DER bytes are taken as they are; PEM bytes are decoded; other bytes go to the DER parser', () => {
    expect(certificateDer(der)).toEqual(der);
    expect(pckExtensionFromCertificate(der).fmspc.toString('hex')).toBe('00906ed50000');
    expect(certificateDer(Buffer.from(`preamble\n${LEAF}`))).toEqual(der);
    const other = Buffer.from([0x31, 0x00]);
    expect(certificateDer(other)).toEqual(other);
    // DER is recognised by its SEQUENCE tag even when its bytes happen to contain a PEM marker.
    const derWithMarker = Buffer.concat([der, Buffer.from('-----BEGIN CERTIFICATE-----')]);
    expect(certificateDer(derWithMarker)).toEqual(derWithMarker);
    expect(expectParseError(() => pckExtensionFromCertificate(other), 'INVALID_ENCODING', /^certificate$/, 0).message).toContain('expected a SEQUENCE');
  });

  it('PEM text without a block, or with a body that is not base64', () => {
    expect(expectParseError(() => certificateDer('nothing here'), 'INVALID_ENCODING', /^certificate$/, 0).message).toContain('no PEM CERTIFICATE block');
    const body = LEAF.split('\n').slice(1, -1).join('\n');
    for (const text of [`x\n-----BEGIN CERTIFICATE-----\n!${body}\n-----END CERTIFICATE-----`, `x\n-----BEGIN CERTIFICATE-----\n${body}!\n-----END CERTIFICATE-----`]) {
      expect(expectParseError(() => certificateDer(text), 'INVALID_ENCODING', /^certificate$/, 2).message).toContain('PEM body is not base64');
    }
  });

  it('a certificate without extensions, or without the SGX one, is refused by name', () => {
    const root = readFileSync(`${TESTDATA}/mobilecoin/root_ca.pem`, 'utf8');
    expect(expectParseError(() => pckExtensionFromCertificate(root), 'INVALID_VALUE', /^certificate\.extensions$/).message).toContain(`no SGX extension (${S})`);
    // TBSCertificate without its [3] extensions (a version 1 layout).
    const cert = readDer(der);
    expect(expectParseError(() => pckExtensionFromCertificate(cert.withTbs((items) => items.filter((i) => i[0] !== 0xa3))), 'INVALID_VALUE', /^certificate\.extensions$/).message).toContain(
      'certificate has no extensions',
    );
  });

  it('extensions before the SGX one that are empty or do not start with an OID are skipped', () => {
    const cert = readDer(der);
    const withJunk = cert.withExtensions((exts) => [seq(), seq(int(1), octets(1)), ...exts]);
    expect(pckExtensionFromCertificate(withJunk).fmspc.toString('hex')).toBe('00906ed50000');
  });

  it('an extension is the SGX one only if its first element is an OBJECT IDENTIFIER with the SGX OID', () => {
    const cert = readDer(der);
    // The SGX OID's content bytes under an OCTET STRING tag, with a value that is not an SGX extension.
    const lookalike = Buffer.from(oid(S));
    lookalike[0] = 0x04;
    const withLookalike = cert.withExtensions((exts) => [seq(lookalike, octets(3)), ...exts]);
    expect(pckExtensionFromCertificate(withLookalike).fmspc.toString('hex')).toBe('00906ed50000');
  });

  it('an SGX extension whose value is not an OCTET STRING is refused', () => {
    const cert = readDer(der);
    const bad = cert.withExtensions((exts) => exts.map((x) => (x.includes(oid(S)) ? seq(oid(S), int(1)) : x)));
    expect(expectParseError(() => pckExtensionFromCertificate(bad), 'INVALID_ENCODING', /^certificate\.extensions\.sgx$/).message).toContain('extnValue is not an OCTET STRING');
  });

  it('a malformed certificate names the part', () => {
    expectParseError(() => pckExtensionFromCertificate(seq(int(1))), 'INVALID_ENCODING', /^certificate\.tbsCertificate$/);
    const cert = readDer(der);
    expectParseError(() => pckExtensionFromCertificate(cert.withTbs((items) => [...items.filter((i) => i[0] !== 0xa3), tlv(0xa3, int(1))])), 'INVALID_ENCODING', /^certificate\.extensions$/);
    expectParseError(() => pckExtensionFromCertificate(cert.withExtensions((exts) => [int(1), ...exts])), 'INVALID_ENCODING', /^certificate\.extensions\.extension$/);
  });
});

/** Rebuild a DER certificate with its TBSCertificate elements or its extensions edited. */
function readDer(der: Buffer) {
  const kids = (b: Buffer): Buffer[] => {
    const out: Buffer[] = [];
    let off = b[1] & 0x80 ? 2 + (b[1] & 0x7f) : 2;
    while (off < b.length) {
      const l = b[off + 1];
      const [n, head] = l & 0x80 ? [b.readUIntBE(off + 2, l & 0x7f), 2 + (l & 0x7f)] : [l, 2];
      out.push(b.subarray(off, off + head + n));
      off += head + n;
    }
    return out;
  };
  const [tbs, ...rest] = kids(der);
  const withTbs = (edit: (items: Buffer[]) => Buffer[]) => seq(seq(...edit(kids(tbs))), ...rest);
  const withExtensions = (edit: (exts: Buffer[]) => Buffer[]) =>
    withTbs((items) => items.map((i) => (i[0] === 0xa3 ? tlv(0xa3, seq(...edit(kids(kids(i)[0] ?? seq())))) : i)));
  return { withTbs, withExtensions };
}
