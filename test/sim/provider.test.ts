import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, createPublicKey, verify } from 'node:crypto';
import {
  createSimProvider,
  QE_AUTH_DATA,
  SimPlatform,
  verifyReportMac,
  type SimProvider,
} from '../../src/providers/sim/index.js';
import { AesmError } from '../../src/aesm/errors.js';
import {
  DEFAULT_ECDSA_P256_ATT_KEY_ID,
  encodeQeReportInfo,
  encodeTargetInfo,
  INTEL_QE_VENDOR_ID,
  parseQeReportInfo,
  parseQuote,
  parseReport,
  parseTargetInfo,
  QUOTE_V3_SIGNED_LENGTH,
} from '../../src/sgx/index.js';
import { APP, NOW, tempDir } from './helpers.js';

const KEY_ID = DEFAULT_ECDSA_P256_ATT_KEY_ID;

async function aesmCode(p: Promise<unknown>): Promise<number | undefined> {
  return p.then(
    () => undefined,
    (e: unknown) => {
      expect(e).toBeInstanceOf(AesmError);
      return (e as AesmError).code;
    },
  );
}

function pubKeyObject(raw64: Buffer) {
  return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: raw64.subarray(0, 32).toString('base64url'), y: raw64.subarray(32).toString('base64url') }, format: 'jwk' });
}

describe('sim provider (QE3/PCE emulation)', () => {
  const t = tempDir();
  let platform: SimPlatform;
  let provider: SimProvider;
  let targetInfo: Buffer;
  let pubKeyId: Buffer;

  beforeAll(async () => {
    // First start on an empty directory creates the platform.
    provider = await createSimProvider({ stateDir: t.dir });
    platform = await SimPlatform.load(t.dir);
    ({ targetInfo, pubKeyId } = await provider.initQuote(KEY_ID));
  });
  afterAll(() => t.cleanup());

  const appReport = (data = 'nonce-123') => platform.ereport({ ...APP, targetInfo, reportData: Buffer.from(data) });

  it('is labelled simulated and offers only the default ECDSA-P256 key id', async () => {
    expect(provider.simulated).toBe(true);
    expect(provider.name).toBe('sim');
    expect(await provider.supportedAttKeyIds()).toEqual([KEY_ID]);
    const health = await provider.health();
    expect(health).toMatchObject({ ready: true, tcbStatus: 'UpToDate', fmspc: platform.identity().fmspc });
  });

  it('returns the QE target info and pub_key_id = SHA-256(attest key ‖ auth data)', async () => {
    expect(targetInfo.length).toBe(512);
    expect(parseTargetInfo(targetInfo).mrEnclave).toEqual(platform.record.qe.mrEnclave);
    expect(pubKeyId.length).toBe(32);
    const { quote } = await provider.getQuote({ report: appReport(), attKeyId: KEY_ID });
    const q = parseQuote(quote);
    expect(pubKeyId).toEqual(createHash('sha256').update(q.attestPubKey).update(QE_AUTH_DATA).digest());
  });

  it('produces a quote v3 laid out per spec §1.5–§2', async () => {
    const report = appReport();
    const { quote } = await provider.getQuote({ report, attKeyId: KEY_ID });
    expect(quote.length).toBe(await provider.getQuoteSize(KEY_ID));
    const q = parseQuote(quote);
    expect(q.version).toBe(3);
    expect(q.header.attKeyType).toBe(2);
    expect(q.header.teeType).toBe(0);
    expect(q.header.vendorId).toEqual(INTEL_QE_VENDOR_ID);
    expect(q.header.qeSvn).toBe(platform.record.qe.isvSvn);
    expect(q.header.qeSvn).toBe(q.qe.qeReport.isvSvn);
    expect(q.header.pceSvn).toBe(platform.record.pceSvn);
    expect(q.header.userData.subarray(0, 16)).toEqual(platform.record.qeId);
    expect(q.header.userData.subarray(16).every((b) => b === 0)).toBe(true);
    expect(q.body.type === 'sgx' && q.body.report.raw).toEqual(parseReport(report).body.raw);
    // S1: attestation key over [0, 432)
    expect(verify('sha256', quote.subarray(0, QUOTE_V3_SIGNED_LENGTH), { key: pubKeyObject(q.attestPubKey), dsaEncoding: 'ieee-p1363' }, q.signature)).toBe(true);
    // S2: PCK over the QE report
    const chain = q.qe.certificationData.type === 5 ? q.qe.certificationData.certificatesPem : [];
    expect(chain.length).toBe(3);
    expect(chain[0].trim()).toBe(platform.pckCertPem.trim());
    expect(verify('sha256', q.qe.qeReportRaw, { key: createPublicKey(chain[0]), dsaEncoding: 'ieee-p1363' }, q.qe.qeReportSignature)).toBe(true);
    // S3: QE report data binds the attestation key
    expect(q.qe.qeReport.reportData).toEqual(Buffer.concat([pubKeyId, Buffer.alloc(32)]));
    expect(q.qe.qeAuthData).toEqual(QE_AUTH_DATA);
    expect(q.qe.qeReport.mrSigner).toEqual(platform.record.qe.mrSigner);
    expect(q.qe.qeReport.cpuSvn).toEqual(platform.record.cpuSvn);
    // the PEM chain is NUL-terminated and the NUL is counted
    expect(q.qe.certificationData.data.at(-1)).toBe(0);
    expect(q.trailing.length).toBe(0);
  });

  it('reuses the certified QE report for every quote of one key', async () => {
    const a = parseQuote((await provider.getQuote({ report: appReport('a'), attKeyId: KEY_ID })).quote);
    const b = parseQuote((await provider.getQuote({ report: appReport('b'), attKeyId: KEY_ID })).quote);
    expect(a.qe.qeReportRaw).toEqual(b.qe.qeReportRaw);
    expect(a.qe.qeReportSignature).toEqual(b.qe.qeReportSignature);
  });

  it('rejects a report with one flipped bit with AESM 47', async () => {
    const r = appReport();
    r[100] ^= 0x04;
    expect(await aesmCode(provider.getQuote({ report: r, attKeyId: KEY_ID }))).toBe(47);
  });

  it('rejects a report targeted at another enclave with AESM 47', async () => {
    const other = parseTargetInfo(targetInfo);
    other.mrEnclave = Buffer.alloc(32, 0x77);
    const r = platform.ereport({ ...APP, targetInfo: encodeTargetInfo({ ...other, raw: undefined }), reportData: Buffer.alloc(0) });
    expect(await aesmCode(provider.getQuote({ report: r, attKeyId: KEY_ID }))).toBe(47);
  });

  it('rejects a report from another platform with AESM 47', async () => {
    const u = tempDir();
    try {
      const elsewhere = await SimPlatform.init({ stateDir: u.dir, now: NOW });
      const r = elsewhere.ereport({ ...APP, targetInfo, reportData: Buffer.alloc(0) });
      expect(await aesmCode(provider.getQuote({ report: r, attKeyId: KEY_ID }))).toBe(47);
    } finally {
      u.cleanup();
    }
  });

  it('answers AESM 3 for bad sizes and 38 for an unknown key id', async () => {
    expect(await aesmCode(provider.getQuote({ report: appReport().subarray(0, 400), attKeyId: KEY_ID }))).toBe(3);
    expect(await aesmCode(provider.getQuote({ report: appReport(), attKeyId: KEY_ID.subarray(0, 158) }))).toBe(3);
    expect(await aesmCode(provider.getQuote({ report: appReport(), attKeyId: KEY_ID, qeReportInfo: Buffer.alloc(959) }))).toBe(3);
    const other = Buffer.from(KEY_ID);
    other[154] = 3; // algorithm ECDSA-P384
    expect(await aesmCode(provider.initQuote(other))).toBe(38);
  });

  it('fills qe_report_info: a QE report for the app with report_data = SHA-256(nonce ‖ quote) ‖ 0³²', async () => {
    const appTi = encodeTargetInfo({ mrEnclave: APP.mrEnclave, attributes: APP.attributes, configSvn: 0, miscSelect: 0, configId: Buffer.alloc(64) });
    const nonce = Buffer.from('0123456789abcdef');
    const info = encodeQeReportInfo({ nonce, appEnclaveTargetInfo: appTi, qeReport: Buffer.alloc(432) });
    const res = await provider.getQuote({ report: appReport(), attKeyId: KEY_ID, qeReportInfo: info });
    const out = parseQeReportInfo(res.qeReportInfo!);
    expect(out.nonce).toEqual(nonce);
    expect(out.appEnclaveTargetInfo).toEqual(appTi);
    const qeReport = parseReport(out.qeReport);
    expect(qeReport.body.reportData).toEqual(Buffer.concat([createHash('sha256').update(nonce).update(res.quote).digest(), Buffer.alloc(32)]));
    expect(qeReport.body.mrEnclave).toEqual(platform.record.qe.mrEnclave);
    // the app enclave can verify it with its own report key; the QE cannot
    const appSelf = { mrEnclave: APP.mrEnclave, attributes: APP.attributes, miscSelect: 0, configSvn: 0, configId: Buffer.alloc(64) };
    expect(verifyReportMac(platform.reportKeySecret, appSelf, out.qeReport)).toBe(true);
    expect(verifyReportMac(platform.reportKeySecret, parseTargetInfo(targetInfo), out.qeReport)).toBe(false);
  });

  it('after `sim rotate-key` (another process) answers AESM 42 until InitQuoteEx runs again', async () => {
    const before = parseQuote((await provider.getQuote({ report: appReport(), attKeyId: KEY_ID })).quote).attestPubKey;
    const other = await SimPlatform.load(t.dir); // stands in for the `sim rotate-key` CLI process
    const gen = await other.rotateKey();
    expect(gen).toBe(platform.attestationKeyGeneration + 1);
    expect(await aesmCode(provider.getQuote({ report: appReport(), attKeyId: KEY_ID }))).toBe(42);
    expect(await aesmCode(provider.getQuoteSize(KEY_ID))).toBe(42);
    const again = await provider.initQuote(KEY_ID);
    expect(again.pubKeyId).not.toEqual(pubKeyId);
    expect(again.targetInfo).toEqual(targetInfo);
    const after = parseQuote((await provider.getQuote({ report: appReport(), attKeyId: KEY_ID })).quote);
    expect(after.attestPubKey).not.toEqual(before);
    expect(createHash('sha256').update(after.attestPubKey).update(QE_AUTH_DATA).digest()).toEqual(again.pubKeyId);
    // a restarted daemon keeps using the persisted (rotated, initialised) key
    const restarted = await createSimProvider({ stateDir: t.dir, initIfMissing: false });
    expect((await restarted.getQuote({ report: appReport(), attKeyId: KEY_ID })).quote.length).toBe(await restarted.getQuoteSize(KEY_ID));
  });

  it('picks up `sim set-tcb` from another process in health()', async () => {
    const other = await SimPlatform.load(t.dir);
    await other.setTcbProfile('OutOfDate');
    expect((await provider.health()).tcbStatus).toBe('OutOfDate');
    await other.setTcbProfile('UpToDate');
  });

  it('after `sim init --force` (a new platform) answers AESM 42, then quotes with the new identity', async () => {
    const oldQeId = platform.record.qeId;
    const fresh = await SimPlatform.init({ stateDir: t.dir, now: NOW, force: true });
    expect(await aesmCode(provider.getQuoteSize(KEY_ID))).toBe(42);
    const { targetInfo: ti } = await provider.initQuote(KEY_ID);
    const report = fresh.ereport({ ...APP, targetInfo: ti, reportData: Buffer.alloc(0) });
    const q = parseQuote((await provider.getQuote({ report, attKeyId: KEY_ID })).quote);
    expect(q.header.userData.subarray(0, 16)).toEqual(fresh.record.qeId);
    expect(fresh.record.qeId).not.toEqual(oldQeId);
    // reports made for the old platform are now refused
    expect(await aesmCode(provider.getQuote({ report: appReport(), attKeyId: KEY_ID }))).toBe(47);
  });
});
