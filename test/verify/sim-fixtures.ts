import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { readFileSync } from 'node:fs';
import { createPrivateKey, sign, webcrypto, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { SimPlatform, type SimCollateral, type SimEnclaveIdentity, type TcbProfile } from '../../src/providers/sim/index.js';
import { createCrl } from '../../src/providers/sim/crl.js';
import { EC_ALG, type Issued } from '../../src/providers/sim/pki.js';
import { StateFiles } from '../../src/providers/sim/state-files.js';
import { APP } from '../sim/helpers.js';

/**
 * Simulated platforms for verifier tests: real quotes and collateral from our own simulator (no hardware
 * exists here, so the simulator is the platform), plus its throw-away CA keys for crafting re-signed
 * collateral variants (revocations, reordered levels, QE identities) that Intel never publishes.
 */

/** Release enclave (INIT|MODE64BIT), as dcap-qvl requires: the sim tests' application enclave. */
export { APP };

export function simQuote(platform: SimPlatform, app: SimEnclaveIdentity = APP, reportData = Buffer.from('verifier test')): Buffer {
  const report = platform.ereport({ ...app, targetInfo: platform.qeTargetInfo(), reportData });
  return platform.quotingEnclave().quote(report).quote;
}

async function issued(dir: string, certKey: keyof typeof StateFiles, keyKey: keyof typeof StateFiles): Promise<Issued> {
  const cert = new x509.X509Certificate(readFileSync(join(dir, StateFiles[certKey]), 'utf8'));
  const pem = readFileSync(join(dir, StateFiles[keyKey]), 'utf8');
  const der = Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
  const privateKey = await webcrypto.subtle.importKey('pkcs8', der, EC_ALG, true, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', cert.publicKey.rawData, EC_ALG, true, ['verify']);
  return { cert, keys: { privateKey, publicKey } } as unknown as Issued;
}

export interface SimKeys {
  rootCa: Issued;
  pckCa: Issued;
  tcbSigningKey: KeyObject;
  tcbSigningSerial: string;
  pckCaSerial: string;
  pckSerial: string;
}

export async function simKeys(dir: string): Promise<SimKeys> {
  const rootCa = await issued(dir, 'rootCaCert', 'rootCaKey');
  const pckCa = await issued(dir, 'pckCaCert', 'pckCaKey');
  const tcbCert = new x509.X509Certificate(readFileSync(join(dir, StateFiles.tcbSigningCert), 'utf8'));
  const pckCert = new x509.X509Certificate(readFileSync(join(dir, StateFiles.pckCert), 'utf8'));
  return {
    rootCa,
    pckCa,
    tcbSigningKey: createPrivateKey(readFileSync(join(dir, StateFiles.tcbSigningKey), 'utf8')),
    tcbSigningSerial: tcbCert.serialNumber,
    pckCaSerial: pckCa.cert.serialNumber,
    pckSerial: pckCert.serialNumber,
  };
}

/** Sign a compact JSON text the way Intel's PCS does (P-256, r‖s). */
export function signJson(text: string, key: KeyObject): Buffer {
  return sign('sha256', Buffer.from(text), { key, dsaEncoding: 'ieee-p1363' });
}

export function crl(issuer: Issued, thisUpdate: Date, nextUpdate: Date, revokedSerials: string[] = []): Promise<Buffer> {
  return createCrl({ issuer, thisUpdate, nextUpdate, crlNumber: 2, revokedSerials });
}

export async function simCollateral(platform: SimPlatform, profile: TcbProfile, now: Date): Promise<SimCollateral> {
  await platform.setTcbProfile(profile);
  return platform.collateral({ now });
}
