import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verify, X509Certificate as NodeX509 } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SimPlatform, SIMULATED_CERT_COMMENT, TCB_PROFILES, tcbLevelsFor, compareTcb, tcbSatisfies, type SimCollateral } from '../../src/providers/sim/index.js';
import { pckExtensionFromCertificate } from '../../src/sgx/index.js';
import { NOW, tempDir } from './helpers.js';
import { TESTDATA } from '../support/testdata.js';

const INTEL_ROOT = new x509.X509Certificate(new Uint8Array(readFileSync(`${TESTDATA}/dcap-qvl/TrustedRootCA.der`)));

function pemCerts(chain: string): x509.X509Certificate[] {
  return (chain.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map((p) => new x509.X509Certificate(p));
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function ext<T extends x509.Extension>(cert: x509.X509Certificate, type: new (raw: any) => T): T {
  const e = cert.getExtension(type);
  expect(e, `${cert.subject} lacks ${type.name}`).toBeTruthy();
  return e as T;
}

describe('simulated PKI and collateral', () => {
  const t = tempDir();
  let platform: SimPlatform;
  let c: SimCollateral;
  let chain: x509.X509Certificate[];

  beforeAll(async () => {
    platform = await SimPlatform.init({ stateDir: t.dir, now: NOW });
    c = await platform.collateral({ now: NOW });
    chain = [...pemCerts(c.pckCertChainPem), pemCerts(c.tcbInfoIssuerChain)[0]];
  });
  afterAll(() => t.cleanup());

  it("uses Intel's DNs byte for byte (UTF8String, PrintableString C)", () => {
    const intelRootDn = Buffer.from(INTEL_ROOT.subjectName.toArrayBuffer());
    const root = Buffer.from(chain[2].rawData);
    expect(root.indexOf(intelRootDn)).toBeGreaterThan(0);
    expect(root.lastIndexOf(intelRootDn)).toBeGreaterThan(root.indexOf(intelRootDn)); // issuer and subject
    expect(chain.map((x) => x.subject)).toEqual([
      'CN=Intel SGX PCK Certificate, O=Intel Corporation, L=Santa Clara, ST=CA, C=US',
      'CN=Intel SGX PCK Processor CA, O=Intel Corporation, L=Santa Clara, ST=CA, C=US',
      'CN=Intel SGX Root CA, O=Intel Corporation, L=Santa Clara, ST=CA, C=US',
      'CN=Intel SGX TCB Signing, O=Intel Corporation, L=Santa Clara, ST=CA, C=US',
    ]);
  });

  it('puts KU+BC (critical), AKI=issuer SKI, SKI and a CRL DP on every certificate; P-256/ecdsa-with-SHA256', async () => {
    const issuerOf = [1, 2, 2, 2];
    for (const [i, cert] of chain.entries()) {
      const ku = ext(cert, x509.KeyUsagesExtension);
      const bc = ext(cert, x509.BasicConstraintsExtension);
      expect(ku.critical && bc.critical).toBe(true);
      const isCa = i === 1 || i === 2;
      expect(bc.ca).toBe(isCa);
      if (isCa) {
        expect(ku.usages).toBe(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
        expect(bc.pathLength).toBe(i === 2 ? 1 : 0);
      } else {
        expect(ku.usages).toBe(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation);
      }
      expect(ext(cert, x509.AuthorityKeyIdentifierExtension).keyId).toBe(ext(chain[issuerOf[i]], x509.SubjectKeyIdentifierExtension).keyId);
      expect(ext(cert, x509.CRLDistributionPointsExtension).distributionPoints.length).toBe(1);
      expect(cert.signatureAlgorithm).toMatchObject({ name: 'ECDSA', hash: { name: 'SHA-256' } });
      expect((cert.publicKey.algorithm as { namedCurve?: string }).namedCurve).toBe('P-256');
      expect(Buffer.from(cert.serialNumber, 'hex').subarray(0, 9).toString()).toBe('SIMULATED');
      expect(await cert.verify({ publicKey: chain[issuerOf[i]].publicKey, signatureOnly: true })).toBe(true);
      // the non-critical Netscape-comment extension says SIMULATED (openssl x509 -text shows it)
      const comment = cert.getExtension('2.16.840.1.113730.1.13');
      expect(comment?.critical).toBe(false);
      expect(Buffer.from(comment!.value).toString('latin1')).toContain(SIMULATED_CERT_COMMENT);
    }
  });

  it('carries the SGX extension (5 entries, CPUSVN bytes = component SVNs) matching the platform', () => {
    const e = pckExtensionFromCertificate(Buffer.from(chain[0].rawData));
    expect(e.ppid).toEqual(platform.record.ppid);
    expect(e.fmspc).toEqual(platform.record.fmspc);
    expect(e.tcb.cpuSvn).toEqual(platform.record.cpuSvn);
    expect(e.tcb.compSvns).toEqual([...platform.record.cpuSvn]);
    expect(e.tcb.pceSvn).toBe(platform.record.pceSvn);
    expect(e.platformInstanceId).toBeUndefined();
  });

  it('issues v2 CRLs with CRL Number and AKI, signed by their issuer, nextUpdate in the future', async () => {
    for (const [der, issuer] of [[c.rootCaCrl, chain[2]], [c.pckCrl, chain[1]]] as const) {
      const crl = new x509.X509Crl(der);
      expect(crl.version).toBe(1); // v2
      expect(crl.issuer).toBe(issuer.subject);
      expect(crl.getExtension('2.5.29.20')).toBeTruthy();
      expect(crl.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId).toBe(ext(issuer, x509.SubjectKeyIdentifierExtension).keyId);
      expect(crl.nextUpdate!.getTime()).toBeGreaterThan(NOW.getTime());
      expect(crl.thisUpdate.getTime()).toBeLessThanOrEqual(NOW.getTime());
      expect(await crl.verify({ publicKey: issuer.publicKey })).toBe(true);
      // a flipped byte in the signed part breaks the CRL signature
      const bad = Buffer.from(der);
      bad[bad.indexOf(Buffer.from('Intel SGX')) + 2] ^= 1;
      expect(await new x509.X509Crl(bad).verify({ publicKey: issuer.publicKey })).toBe(false);
      expect(crl.entries.length).toBe(0);
    }
    expect(c.pckCrlPem).toMatch(/^-----BEGIN X509 CRL-----\n/);
    expect(c.pckCrlIssuerChain).toBe(pemCerts(c.pckCrlIssuerChain).map((x) => x.toString('pem') + '\n').join(''));
  });

  it('emits compact TCB Info v3 / QE Identity v2 signed over the exact bytes', () => {
    for (const [text, sig, member] of [[c.tcbInfoBody, c.tcbInfoSignature, 'tcbInfo'], [c.qeIdentityBody, c.qeIdentitySignature, 'enclaveIdentity']] as const) {
      expect(JSON.stringify(JSON.parse(text))).toBe(text);
      expect(text).not.toMatch(/\.\d+Z/);
      expect(text).toMatch(/"issueDate":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"/);
      expect(sig.length).toBe(64);
      expect(verify('sha256', Buffer.from(text), { key: new NodeX509(Buffer.from(chain[3].rawData)).publicKey, dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
      const body = member === 'tcbInfo' ? c.tcbInfoPcsBody : c.qeIdentityPcsBody;
      expect(body).toBe(`{"${member}":${text},"signature":"${sig.toString('hex')}"}`);
    }
    const tcb = JSON.parse(c.tcbInfoBody);
    expect(tcb).toMatchObject({ id: 'SGX', version: 3, tcbType: 0, fmspc: platform.identity().fmspc, pceId: '0000' });
    expect(new Date(tcb.issueDate).getTime()).toBeLessThanOrEqual(NOW.getTime());
    expect(new Date(tcb.nextUpdate).getTime()).toBeGreaterThan(NOW.getTime());
    const qe = JSON.parse(c.qeIdentityBody);
    expect(qe).toMatchObject({ id: 'QE', version: 2, isvprodid: 1, mrsigner: platform.record.qe.mrSigner.toString('hex').toUpperCase() });
  });

  it('is valid around the injected now and cached within the hour', async () => {
    const later = await platform.collateral({ now: new Date(NOW.getTime() + 30 * 60_000) });
    expect(later).toBe(c);
    const nextDay = await platform.collateral({ now: new Date(NOW.getTime() + 86400_000) });
    expect(nextDay.issueDate.getTime()).toBe(NOW.getTime() + 86400_000);
  });

  it('lists the PCK serial in the PCK CRL only for the Revoked profile', async () => {
    await platform.setTcbProfile('Revoked');
    const revoked = new x509.X509Crl((await platform.collateral({ now: NOW })).pckCrl);
    expect(revoked.entries.map((e) => e.serialNumber)).toEqual([chain[0].serialNumber]);
    await platform.setTcbProfile('UpToDate');
    expect(new x509.X509Crl((await platform.collateral({ now: NOW })).pckCrl).entries.length).toBe(0);
  });
});

describe('TCB profiles', () => {
  const platformTcb = { compSvns: [14, 14, 3, 3, 4, 1, 13, 0, 0, 0, 0, 0, 0, 0, 0, 0], pceSvn: 13 };

  it.each(TCB_PROFILES)('%s: levels sorted descending, first matching level carries the profile', (profile) => {
    const levels = tcbLevelsFor(profile, platformTcb);
    for (let i = 1; i < levels.length; i++) expect(compareTcb(levels[i - 1], levels[i])).toBeGreaterThan(0);
    for (const l of levels) {
      expect(l.compSvns.length).toBe(16);
      if (l.tcbStatus === 'UpToDate') expect(l.advisoryIDs).toBeUndefined();
      else expect(l.advisoryIDs?.every((a) => /^INTEL-SA-\d{5}$/.test(a))).toBe(true);
    }
    const match = levels.find((l) => tcbSatisfies(platformTcb, l));
    if (profile === 'TcbLevelNotSupported') expect(match).toBeUndefined();
    else expect(match?.tcbStatus).toBe(profile);
  });

  it('handles SVNs at the top of their range', () => {
    const maxed = { compSvns: [255, ...Array(15).fill(0)], pceSvn: 0 };
    for (const p of TCB_PROFILES) {
      const match = tcbLevelsFor(p, maxed).find((l) => tcbSatisfies(maxed, l));
      expect(p === 'TcbLevelNotSupported' ? match : match?.tcbStatus).toBe(p === 'TcbLevelNotSupported' ? undefined : p);
    }
  });
});
