// The checks that read the filesystem and the environment, each in its outcomes, on temp dirs.
// A FAKE /dev TREE STANDS IN FOR SGX HARDWARE (see support.ts): /dev/null behind the SGX names for
// usable nodes, regular files with real modes for unusable ones. Process identities are injected.
import { afterEach, describe, expect, it } from 'vitest';
import {
  checkIntelLibraries,
  checkQuoteProvider,
  checkSgxAesmAddr,
  checkSgxDevices,
  isLoopbackUrl,
  mayReadWrite,
  parseQcnlConfig,
  readQuoteProviderInfo,
  stripJsonComments,
} from '../../src/doctor/index.js';
import { fakeRoot, user, type FakeRoot } from './support.js';

let root: FakeRoot;
afterEach(() => root?.cleanup());

// Stand-in nodes keep the owner and group of whoever runs the tests (no chown, so no root needed):
// the fake /etc/group names that group sgx_prv, and the injected identity (uid 4242) is someone else.
const SGX_GID = 4711;
const SGX_PRV_GID = process.getgid!();
const OWNER_UID = process.getuid!();
const GROUPS = `root:x:0:\nsgx:x:${SGX_GID}:\nsgx_prv:x:${SGX_PRV_GID}:\n`;

describe('sgx-devices', () => {
  it('OK when both nodes are character devices this process may open; the detail names each node', () => {
    root = fakeRoot();
    root.device('dev/sgx_enclave');
    root.device('dev/sgx_provision');
    const r = checkSgxDevices({ root: root.dir, role: 'node', outOfProcess: false, who: user() });
    expect(r.status).toBe('OK');
    expect(r.detail).toContain('/dev/sgx_enclave: character device');
    expect(r.detail).toContain('/dev/sgx_provision: character device');
  });

  it('finds the legacy /dev/sgx/* names when the new ones are absent', () => {
    root = fakeRoot();
    root.device('dev/sgx/enclave');
    root.device('dev/sgx/provision');
    const r = checkSgxDevices({ root: root.dir, role: 'node', outOfProcess: false, who: user() });
    expect(r.status).toBe('OK');
    expect(r.detail).toContain('/dev/sgx/enclave');
    expect(r.detail).toContain('/dev/sgx/provision');
  });

  it('FAIL for a node without the devices, naming both device-plugin resources', () => {
    root = fakeRoot();
    const r = checkSgxDevices({ root: root.dir, role: 'node', outOfProcess: false, who: user() });
    expect(r.status).toBe('FAIL');
    expect(r.detail).toContain('no enclave device (looked for /dev/sgx_enclave, /dev/sgx/enclave)');
    expect(r.hint).toContain('sgx.intel.com/enclave and sgx.intel.com/provision');
  });

  it("only WARN when the helper's provider is sim (no hardware needed)", () => {
    root = fakeRoot();
    const r = checkSgxDevices({ root: root.dir, role: 'node', outOfProcess: false, provider: 'sim', who: user() });
    expect(r.status).toBe('WARN');
    expect(r.detail).toContain("the helper's sim provider does not need them");
  });

  it('an out-of-process app needs the enclave device but not the provisioning device', () => {
    root = fakeRoot();
    root.device('dev/sgx_enclave');
    const app = checkSgxDevices({ root: root.dir, role: 'app', outOfProcess: true, who: user() });
    expect(app.status).toBe('OK');
    expect(app.detail).toContain('no provisioning device (not needed here)');
    // The same pod in-process (SGX_AESM_ADDR unset) loads the PCE itself: it needs /dev/sgx_provision.
    // Present but unusable, it is reported and not held against an out-of-process app.
    root.file('dev/sgx_provision', '', 0o600);
    const unusable = checkSgxDevices({ root: root.dir, role: 'app', outOfProcess: true, who: user() });
    expect(unusable.status).toBe('OK');
    expect(unusable.detail).toContain(`/dev/sgx_provision: NOT a device node, uid ${OWNER_UID}, group ${SGX_PRV_GID}, mode 0600; this process (uid 4242) is not in group ${SGX_PRV_GID} (not needed here)`);
    const inProcess = checkSgxDevices({ root: root.dir, role: 'app', outOfProcess: false, who: user() });
    expect(inProcess.status).toBe('FAIL');
    expect(inProcess.detail).toContain('/dev/sgx_provision cannot be opened read-write by uid 4242');
    expect(inProcess.hint).toContain('run as a member of group sgx_prv');
  });

  it('FAIL for a provisioning node of group sgx_prv, mode 0660, when this process is not in the group; OK once it is', () => {
    root = fakeRoot();
    root.file('etc/group', GROUPS);
    root.device('dev/sgx_enclave');
    root.file('dev/sgx_provision', '', 0o660);
    const outsider = checkSgxDevices({ root: root.dir, role: 'node', outOfProcess: false, who: user([SGX_GID]) });
    expect(outsider.status).toBe('FAIL');
    expect(outsider.detail).toContain('group sgx_prv, mode 0660');
    expect(outsider.detail).toContain('this process (uid 4242) is not in group sgx_prv');
    expect(outsider.hint).toContain(`group sgx_prv (gid ${SGX_PRV_GID}, named sgx_prv on this filesystem; in a pod: securityContext.supplementalGroups: [${SGX_PRV_GID}])`);
    // A member may open it; the stand-in is still a regular file, which the check reports as not a device.
    const member = checkSgxDevices({ root: root.dir, role: 'node', outOfProcess: false, who: user([SGX_PRV_GID]) });
    expect(member.detail).toContain('this process (uid 4242) is in group sgx_prv');
    expect(member.detail).toContain('/dev/sgx_provision is not a device node');
    expect(member.detail).not.toContain('cannot be opened');
  });

  it('mayReadWrite follows owner, group and other bits, and root may open anything', () => {
    const st = { uid: 0, gid: SGX_GID, mode: 0o660 };
    expect(mayReadWrite(st, user())).toBe(false);
    expect(mayReadWrite(st, user([SGX_GID]))).toBe(true);
    expect(mayReadWrite({ ...st, mode: 0o666 }, user())).toBe(true);
    expect(mayReadWrite({ ...st, mode: 0o640 }, user([SGX_GID]))).toBe(false);
    expect(mayReadWrite({ uid: 4242, gid: 0, mode: 0o600 }, user())).toBe(true);
    expect(mayReadWrite({ uid: 1, gid: 1, mode: 0o000 }, { uid: 0, gid: 0, groups: [] })).toBe(true);
  });
});

describe('intel-libraries', () => {
  const NODE_LIBS = ['libsgx_dcap_ql.so.1', 'libsgx_qe3_logic.so', 'libsgx_pce_logic.so.1'];

  it('OK for a node whose three DCAP libraries are in a system directory', () => {
    root = fakeRoot();
    for (const l of NODE_LIBS) root.file(`usr/lib/x86_64-linux-gnu/${l}`);
    const r = checkIntelLibraries({ root: root.dir, env: {}, role: 'node' });
    expect(r.status).toBe('OK');
    expect(r.detail).toContain('/usr/lib/x86_64-linux-gnu/libsgx_pce_logic.so.1');
  });

  it('LD_LIBRARY_PATH is searched first, as ld.so does', () => {
    root = fakeRoot();
    for (const l of NODE_LIBS) root.file(`opt/intel/lib/${l}`);
    expect(checkIntelLibraries({ root: root.dir, env: {}, role: 'node' }).status).toBe('FAIL');
    const r = checkIntelLibraries({ root: root.dir, env: { LD_LIBRARY_PATH: '/opt/intel/lib' }, role: 'node' });
    expect(r.status).toBe('OK');
    expect(r.detail).toContain('/opt/intel/lib/libsgx_dcap_ql.so.1');
  });

  it('FAIL for a node missing the PCE library, naming its package; WARN when the provider is sim', () => {
    root = fakeRoot();
    root.file('usr/lib/x86_64-linux-gnu/libsgx_dcap_ql.so.1');
    root.file('usr/lib/x86_64-linux-gnu/libsgx_qe3_logic.so');
    const r = checkIntelLibraries({ root: root.dir, env: {}, role: 'node', provider: 'dcap' });
    expect(r.status).toBe('FAIL');
    expect(r.detail).toContain('missing libsgx_pce_logic.so.1');
    expect(r.hint).toContain('libsgx-pce-logic');
    expect(checkIntelLibraries({ root: root.dir, env: {}, role: 'node', provider: 'sim' }).status).toBe('WARN');
  });

  it('an app without libsgx_quote_ex.so.1 FAILs with the 0xE040 it would see; with it and without dcap_ql only WARN', () => {
    root = fakeRoot();
    const none = checkIntelLibraries({ root: root.dir, env: {}, role: 'app' });
    expect(none.status).toBe('FAIL');
    expect(none.hint).toContain('libsgx-quote-ex');
    expect(none.hint).toContain('0xE040');
    root.file('usr/lib/libsgx_quote_ex.so.1');
    const some = checkIntelLibraries({ root: root.dir, env: {}, role: 'app' });
    expect(some.status).toBe('WARN');
    expect(some.detail).toContain('found /usr/lib/libsgx_quote_ex.so.1');
    root.file('usr/lib/libsgx_dcap_ql.so.1');
    expect(checkIntelLibraries({ root: root.dir, env: {}, role: 'app' }).status).toBe('OK');
  });
});

describe('quote-provider', () => {
  // Intel's shipped file: JSON with // comments (and URLs, whose // must survive).
  const INTEL_CONF = `{
  // *** ATTENTION : This file is in JSON format so the keys are case sensitive. Don't change them.
  //PCCS server address
  "pccs_url": "https://localhost:8081/sgx/certification/v4/"
  // To accept insecure HTTPS certificate, set this option to false
  ,"use_secure_cert": true
  /* a block comment */
  ,"collateral_service": "https://api.trustedservices.intel.com/sgx/certification/v4/"
}
`;

  it('strips comments outside strings only', () => {
    expect(JSON.parse(stripJsonComments('{"u":"https://x//y" // c\n}'))).toEqual({ u: 'https://x//y' });
    expect(JSON.parse(stripJsonComments('{"a":"\\"//"/* x */}'))).toEqual({ a: '"//' });
  });

  it("parses Intel's JSON file with comments and the legacy KEY=value file", () => {
    expect(parseQcnlConfig(INTEL_CONF, '/etc/sgx_default_qcnl.conf')).toMatchObject({
      format: 'json',
      pccsUrl: 'https://localhost:8081/sgx/certification/v4/',
      collateralService: 'https://api.trustedservices.intel.com/sgx/certification/v4/',
      useSecureCert: true,
    });
    expect(parseQcnlConfig('# legacy\nPCCS_URL=https://pccs.example:8081/sgx/certification/v3/\nUSE_SECURE_CERT=FALSE\n', 'f')).toMatchObject({
      format: 'key=value',
      pccsUrl: 'https://pccs.example:8081/sgx/certification/v3/',
      useSecureCert: false,
    });
    expect(parseQcnlConfig('{ "pccs_url": ', 'f').error).toContain('0xE067');
  });

  it('loopback URLs: localhost, 127/8, ::1, 0.0.0.0; not a PCCS host name', () => {
    for (const u of ['https://localhost:8081/x', 'https://127.0.0.1:8081', 'https://127.8.9.10', 'https://[::1]:8081', 'http://0.0.0.0:1']) {
      expect(isLoopbackUrl(u)).toBe(true);
    }
    for (const u of ['https://pccs.example:8081', 'https://10.0.0.5:8081', 'https://localhostname.example', 'not a url']) {
      expect(isLoopbackUrl(u)).toBe(false);
    }
  });

  it("WARN when Intel's QPL is configured with the shipped localhost PCCS URL; the collateral URL is collateral_service", () => {
    root = fakeRoot();
    root.file('usr/lib/x86_64-linux-gnu/libdcap_quoteprov.so.1');
    root.file('etc/sgx_default_qcnl.conf', INTEL_CONF);
    const info = readQuoteProviderInfo(root.dir, {});
    expect(info.intelQpl).toBe('/usr/lib/x86_64-linux-gnu/libdcap_quoteprov.so.1');
    expect(info.collateralUrl).toBe('https://api.trustedservices.intel.com/sgx/certification/v4/');
    const r = checkQuoteProvider({ info, role: 'node', provider: 'dcap' });
    expect(r.status).toBe('WARN');
    expect(r.hint).toContain('https://localhost:8081/sgx/certification/v4/ points at this machine');
    expect(r.hint).toContain('inside a container that is the container itself');
  });

  it('OK with a reachable-looking PCCS name; QCNL_CONF_PATH moves the file', () => {
    root = fakeRoot();
    root.file('usr/lib/libdcap_quoteprov.so.1');
    root.file('opt/qcnl.json', '{"pccs_url": "https://pccs.pccs.svc.cluster.local:8081/sgx/certification/v4/"}');
    const info = readQuoteProviderInfo(root.dir, { QCNL_CONF_PATH: '/opt/qcnl.json' });
    expect(info.config?.path).toBe('/opt/qcnl.json');
    expect(info.collateralUrl).toBe('https://pccs.pccs.svc.cluster.local:8081/sgx/certification/v4/');
    const r = checkQuoteProvider({ info, role: 'node', provider: 'dcap' });
    expect(r.status).toBe('OK');
    expect(r.detail).toContain("Intel's QPL /usr/lib/libdcap_quoteprov.so.1");
  });

  it("Azure's client: the legacy library name and AZDCAP_* settings (names only) are reported", () => {
    root = fakeRoot();
    root.file('usr/lib/libdcap_quoteprov.so');
    const info = readQuoteProviderInfo(root.dir, { AZDCAP_COLLATERAL_VERSION: 'v4', AZDCAP_CLIENT_ID: 'secret-ish-id' });
    const r = checkQuoteProvider({ info, role: 'node', provider: 'dcap' });
    expect(r.status).toBe('OK');
    expect(r.detail).toContain('/usr/lib/libdcap_quoteprov.so (Azure az-dcap-client or an old Intel QPL)');
    expect(r.detail).toContain('AZDCAP_CLIENT_ID, AZDCAP_COLLATERAL_VERSION');
    expect(r.detail).not.toContain('secret-ish-id');
  });

  it('a dcap node with no QPL at all WARNs (quotes carry only an encrypted PPID); a sim node is OK', () => {
    root = fakeRoot();
    const info = readQuoteProviderInfo(root.dir, {});
    const dcap = checkQuoteProvider({ info, role: 'node', provider: 'dcap' });
    expect(dcap.status).toBe('WARN');
    expect(dcap.hint).toContain('libsgx-dcap-default-qpl');
    expect(checkQuoteProvider({ info, role: 'node', provider: 'sim' }).status).toBe('OK');
  });

  it("Intel's QPL without a config file WARNs; an unparseable one WARNs with the QCNL's error", () => {
    root = fakeRoot();
    root.file('usr/lib/libdcap_quoteprov.so.1');
    expect(checkQuoteProvider({ info: readQuoteProviderInfo(root.dir, {}), role: 'node', provider: 'dcap' }).hint).toContain('needs /etc/sgx_default_qcnl.conf');
    root.file('etc/sgx_default_qcnl.conf', '{ "pccs_url": "https://pccs:8081" ');
    const r = checkQuoteProvider({ info: readQuoteProviderInfo(root.dir, {}), role: 'node', provider: 'dcap' });
    expect(r.status).toBe('WARN');
    expect(r.detail).toContain('not valid JSON');
  });
});

describe('sgx-aesm-addr', () => {
  it('set to any value, even empty, in an app: out-of-process, OK', () => {
    for (const v of ['1', '', 'aesmd']) {
      const r = checkSgxAesmAddr({ env: { SGX_AESM_ADDR: v }, role: 'app', inProcessDevicesUsable: false });
      expect(r.status).toBe('OK');
      expect(r.detail).toContain('out-of-process');
      expect(r.detail).toContain('/var/run/aesmd/aesm.socket');
    }
  });

  it('set to some other path: WARN that the value is never read as an address', () => {
    const r = checkSgxAesmAddr({ env: { SGX_AESM_ADDR: '/run/other/aesm.sock' }, role: 'app', inProcessDevicesUsable: false });
    expect(r.status).toBe('WARN');
    expect(r.detail).toContain('never read as one');
  });

  it('unset in an app: FAIL without usable devices, WARN with them (in-process may work)', () => {
    const without = checkSgxAesmAddr({ env: {}, role: 'app', inProcessDevicesUsable: false });
    expect(without.status).toBe('FAIL');
    expect(without.detail).toContain('in-process');
    expect(without.hint).toContain('SGX_AESM_ADDR=1');
    expect(without.hint).toContain('setenv() in main() is too late');
    expect(checkSgxAesmAddr({ env: {}, role: 'app', inProcessDevicesUsable: true }).status).toBe('WARN');
  });

  it('on the node it does not matter either way', () => {
    expect(checkSgxAesmAddr({ env: {}, role: 'node', inProcessDevicesUsable: false }).status).toBe('OK');
    const set = checkSgxAesmAddr({ env: { SGX_AESM_ADDR: '1' }, role: 'node', inProcessDevicesUsable: false });
    expect(set.status).toBe('OK');
    expect(set.detail).toContain('removes it');
  });
});
