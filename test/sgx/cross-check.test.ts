import { Quote as DcapQvlQuote } from '@phala/dcap-qvl';
import { describe, expect, it } from 'vitest';
import { parseQuote } from '../../src/sgx/index.js';
import { QUOTE_FILES, td } from './testdata.js';

// An independent parser (@phala/dcap-qvl, dev dependency) must see the same fields in every sample quote.
const b = (u: Uint8Array | undefined) => Buffer.from(u ?? new Uint8Array());

interface QvlReport {
  reportData: Uint8Array;
  mrEnclave?: Uint8Array;
  mrSigner?: Uint8Array;
  isvProdId?: number;
  isvSvn?: number;
  mrTd?: Uint8Array;
  rtMr3?: Uint8Array;
  base?: QvlReport;
  mrServiceTd?: Uint8Array;
}

describe('cross-check against @phala/dcap-qvl Quote.parse', () => {
  for (const file of QUOTE_FILES) {
    it(file, () => {
      const raw = td(file);
      const ours = parseQuote(raw);
      const theirs = DcapQvlQuote.parse(raw);
      const h = theirs.header;
      expect([ours.header.version, ours.header.attKeyType, ours.header.teeType, ours.header.qeSvn, ours.header.pceSvn])
        .toEqual([h.version, h.attestationKeyType, h.teeType, h.qeSvn, h.pceSvn]);
      expect(ours.header.userData.equals(b(h.userData))).toBe(true);
      expect(ours.signedLength).toBe(theirs.signedLength());
      expect(ours.body.type).toBe(theirs.report.type);
      const rep = theirs.report.data as QvlReport;
      if (ours.body.type === 'sgx') {
        const r = ours.body.report;
        expect(r.reportData.equals(b(rep.reportData))).toBe(true);
        expect(r.mrEnclave.equals(b(rep.mrEnclave))).toBe(true);
        expect(r.mrSigner.equals(b(rep.mrSigner))).toBe(true);
        expect([r.isvProdId, r.isvSvn]).toEqual([rep.isvProdId, rep.isvSvn]);
      } else {
        const base = ours.body.type === 'td15' ? (rep.base as QvlReport) : rep;
        const r = ours.body.report;
        expect(r.reportData.equals(b(base.reportData))).toBe(true);
        expect(r.mrTd.equals(b(base.mrTd))).toBe(true);
        expect(r.rtMr[3].equals(b(base.rtMr3))).toBe(true);
        if (ours.body.type === 'td15') expect(ours.body.report.mrServiceTd.equals(b(rep.mrServiceTd))).toBe(true);
      }
      const auth = (theirs.authData as unknown as { data: Record<string, unknown> }).data;
      expect(ours.signature.equals(b(auth.ecdsaSignature as Uint8Array))).toBe(true);
      expect(ours.attestPubKey.equals(b(auth.ecdsaAttestationKey as Uint8Array))).toBe(true);
      const cert = auth.certificationData as { certType: number; body: Uint8Array };
      expect(ours.outerCertificationData.type).toBe(cert.certType);
      expect(ours.outerCertificationData.data.equals(b(cert.body))).toBe(true);
      if (ours.version === 3) {
        expect(ours.qe.qeReportRaw.equals(b(auth.qeReport as Uint8Array))).toBe(true);
        expect(ours.qe.qeAuthData.equals(b(auth.qeAuthData as Uint8Array))).toBe(true);
      }
    });
  }
});
