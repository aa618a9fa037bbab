import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { collateralFromDcapQvlJson } from '../../src/pcs/bundle.js';
import type { Collateral } from '../../src/pcs/types.js';
import { CertType, encodeQuote, parseQuote, pemChainCertificationData } from '../../src/sgx/index.js';
import { createVerifier } from '../../src/verify/index.js';
import { TESTDATA } from '../support/testdata.js';

/**
 * The verifier's caches are keyed by content, never by object identity or by "seen before": a collateral
 * set or PCK chain that differs in one byte from one already verified is checked again from scratch and
 * rejected, also when the caller changes its own object in place; and the time is judged on every call.
 * Real Intel quotes and collateral (test/fixtures/testdata), one warm verifier per test.
 */

const bytes = (p: string) => readFileSync(`${TESTDATA}/${p}`);
const REAL = {
  SGX: { quote: bytes('dcap-qvl/sgx_quote'), coll: 'dcap-qvl/sgx_quote_collateral.json', at: new Date('2025-06-19T11:56:00Z') },
  TDX: { quote: bytes('dcap-qvl/tdx_quote'), coll: 'dcap-qvl/tdx_quote_collateral.json', at: new Date('2025-06-19T12:00:00Z') },
};
const collateralOf = (p: string): Collateral => collateralFromDcapQvlJson(JSON.parse(readFileSync(`${TESTDATA}/${p}`, 'utf8')));

/** A copy of `b` with one bit of its byte at `at` (negative: from the end) flipped. */
function flip(b: Buffer, at: number): Buffer {
  const out = Buffer.from(b);
  out[at < 0 ? out.length + at : at] ^= 0x01;
  return out;
}

/** The same text with one character changed inside the value of `field` (a digit of a date). */
function changeJsonDate(text: string, field: string): string {
  const at = text.indexOf(`"${field}":"`) + field.length + 5; // the second digit of the year
  const c = text[at];
  return text.slice(0, at) + (c === '1' ? '2' : '1') + text.slice(at + 1);
}

for (const tee of ['SGX', 'TDX'] as const) {
  const { quote, coll, at } = REAL[tee];

  describe(`${tee}: a collateral set differing from a verified one is checked again`, () => {
    const warm = async () => {
      const c = collateralOf(coll);
      const v = createVerifier({ now: at, collateral: c });
      const r = await v.verify(quote);
      expect(r.ok).toBe(true);
      return { v, c, good: r };
    };

    it('one byte of the TCB info or QE identity signature → the signature check fails; the original still verifies', async () => {
      const { v, c, good } = await warm();
      const tcb = await v.verify(quote, { collateral: { ...c, tcbInfoSignature: flip(c.tcbInfoSignature, -1) } });
      expect(tcb.reason).toBe('TCB_INFO_INVALID_SIGNATURE');
      const qe = await v.verify(quote, { collateral: { ...c, qeIdentitySignature: flip(c.qeIdentitySignature, 0) } });
      expect(qe.reason).toBe('QE_IDENTITY_INVALID_SIGNATURE');
      expect(await v.verify(quote)).toEqual(good);
    });

    it('one byte of a CRL signature → CRL_INVALID_SIGNATURE (root CA CRL and PCK CRL)', async () => {
      const { v, c, good } = await warm();
      expect((await v.verify(quote, { collateral: { ...c, pckCrl: flip(c.pckCrl, -1) } })).reason).toBe('CRL_INVALID_SIGNATURE');
      expect((await v.verify(quote, { collateral: { ...c, rootCaCrl: flip(c.rootCaCrl, -1) } })).reason).toBe('CRL_INVALID_SIGNATURE');
      expect(await v.verify(quote)).toEqual(good);
    });

    it('one character of a signed JSON body → its signature check fails', async () => {
      const { v, c } = await warm();
      const tcb = await v.verify(quote, { collateral: { ...c, tcbInfoBody: changeJsonDate(c.tcbInfoBody, 'issueDate') } });
      expect(tcb.reason).toBe('TCB_INFO_INVALID_SIGNATURE');
      const qe = await v.verify(quote, { collateral: { ...c, qeIdentityBody: changeJsonDate(c.qeIdentityBody, 'nextUpdate') } });
      expect(qe.reason).toBe('QE_IDENTITY_INVALID_SIGNATURE');
    });

    it('the caller changing its own collateral object in place (a buffer byte, a string) is seen on the next call', async () => {
      const { v, c, good } = await warm();
      c.tcbInfoSignature[5] ^= 0x80; // the very object the verifier was created with
      expect((await v.verify(quote)).reason).toBe('TCB_INFO_INVALID_SIGNATURE');
      c.tcbInfoSignature[5] ^= 0x80;
      expect(await v.verify(quote)).toEqual(good);
      c.pckCrl[c.pckCrl.length - 1] ^= 0x01;
      expect((await v.verify(quote)).reason).toBe('CRL_INVALID_SIGNATURE');
      c.pckCrl[c.pckCrl.length - 1] ^= 0x01;
      const body = c.qeIdentityBody;
      c.qeIdentityBody = changeJsonDate(body, 'issueDate');
      expect((await v.verify(quote)).reason).toBe('QE_IDENTITY_INVALID_SIGNATURE');
      c.qeIdentityBody = body;
      expect(await v.verify(quote)).toEqual(good);
    });

    it('a PCK chain whose leaf differs in one byte of its signature → PCK_CHAIN_INVALID; the original still verifies', async () => {
      const { v, good } = await warm();
      const q = parseQuote(quote);
      const cd = q.qe.certificationData;
      if (cd.type !== CertType.PCK_CERT_CHAIN) throw new Error('fixture carries no PCK chain');
      const pems = cd.certificatesPem.map((pem) => {
        const der = Buffer.from(pem.replace(/-----[A-Z ]+-----|\s+/g, ''), 'base64');
        const leaf = /SGX PCK Certificate/.test(der.toString('latin1'));
        const out = leaf ? flip(der, -1) : der; // the last byte of the signature's s
        return `-----BEGIN CERTIFICATE-----\n${out.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
      });
      const data = pemChainCertificationData(pems);
      const forged = encodeQuote({ ...q, qe: { ...q.qe, certificationData: { type: 5, data, encoding: 'pem', pemChain: pems.join(''), certificatesPem: pems } } });
      const r = await v.verify(forged);
      expect(r.reason).toBe('PCK_CHAIN_INVALID');
      expect(r.message).toMatch(/signature does not verify/);
      expect(await v.verify(quote)).toEqual(good);
    });

    it('a PCK chain whose leaf differs in one byte far from its end (the serial) → PCK_CHAIN_INVALID; the original still verifies', async () => {
      // The chain cache finds a chain by the tail of each PEM (the signature) and then compares every
      // character: a change elsewhere keeps that probe and must still be seen.
      const { v, good } = await warm();
      const q = parseQuote(quote);
      const cd = q.qe.certificationData;
      if (cd.type !== CertType.PCK_CERT_CHAIN) throw new Error('fixture carries no PCK chain');
      const pems = cd.certificatesPem.map((pem) => {
        const der = Buffer.from(pem.replace(/-----[A-Z ]+-----|\s+/g, ''), 'base64');
        const leaf = /SGX PCK Certificate/.test(der.toString('latin1'));
        const out = leaf ? flip(der, 16) : der; // a byte of the serial number (30 82 .. 30 82 .. a0 03 02 01 02 02 len serial)
        return `-----BEGIN CERTIFICATE-----\n${out.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
      });
      expect(pems.map((p) => p.slice(-128))).toEqual(cd.certificatesPem.map((p) => p.slice(-128)));
      const data = pemChainCertificationData(pems);
      const forged = { ...q, qe: { ...q.qe, certificationData: { type: 5 as const, data, encoding: 'pem' as const, pemChain: pems.join(''), certificatesPem: pems } } };
      for (const input of [encodeQuote(forged), forged]) {
        const r = await v.verify(input);
        expect(r.reason).toBe('PCK_CHAIN_INVALID');
        expect(r.message).toMatch(/signature does not verify/);
      }
      expect(await v.verify(quote)).toEqual(good);
    });

    it('expiry is judged per call: the same warm context is expired at its earliest expiration and not one second before', async () => {
      const { v, good } = await warm();
      const earliest = new Date(good.collateralEarliestExpiration!);
      const late = await v.verify(quote, { now: earliest });
      expect(late.collateralExpired).toBe(true);
      expect(late.expiredCollateral.length).toBeGreaterThan(0);
      const before = await v.verify(quote, { now: new Date(earliest.getTime() - 1000) });
      expect(before.collateralExpired).toBe(false);
      expect((await v.verify(quote)).expiredCollateral).toEqual([]);
    });

    it('a cold verifier (new verifier per call) and a warm one give the same result', async () => {
      const { v, c } = await warm();
      const cold = await createVerifier({ now: at, collateral: c }).verify(quote);
      expect(await v.verify(quote)).toEqual(cold);
    });
  });
}
