// No container engine exists on the project's machines, so the Dockerfile cannot be built here. These
// checks tie it to the repository it builds from: whatever it COPYs is in the build context, the
// entrypoint is the package's CLI, and the chart's image tags exist as targets.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DAEMON_ENV, DAEMON_NODE_OPTIONS } from '../../src/daemon/node-flags.js';

const dockerfile = readFileSync('Dockerfile', 'utf8');
const dockerignore = readFileSync('.dockerignore', 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));

describe('Dockerfile', () => {
  it('starts the dcap image (the daemon only) with the V8 heap settings the daemon is measured with', () => {
    const dcap = dockerfile.slice(dockerfile.indexOf('AS dcap'));
    expect(dcap).toContain(`ENV NODE_OPTIONS="${DAEMON_NODE_OPTIONS}"`);
    expect(dcap).toContain(`ENV MALLOC_ARENA_MAX=${DAEMON_ENV.MALLOC_ARENA_MAX}`);
  });

  it('COPYs from the build context only what .dockerignore lets in', () => {
    const contextCopies = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1].split(/\s+/));
    expect(contextCopies.length).toBeGreaterThan(3);
    expect(dockerignore[0]).toBe('*');
    const allowed = dockerignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1));
    for (const src of contextCopies) expect(allowed, src).toContain(src);
  });

  it('has a build stage, a non-root default image and a dcap hardware target', () => {
    const stages = [...dockerfile.matchAll(/^FROM \S+ AS (\S+)$/gm)].map((m) => m[1]);
    expect(stages).toEqual(['build', 'runtime', 'dcap']);
    expect(dockerfile).toMatch(/npm ci/);
    expect(dockerfile).toMatch(/npm run build/);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'), dockerfile.indexOf('AS dcap'));
    expect(runtime).toMatch(/^USER 65532:65532$/m);
    const dcap = dockerfile.slice(dockerfile.indexOf('AS dcap'));
    for (const lib of ['libsgx-dcap-ql', 'libsgx-qe3-logic', 'libsgx-pce-logic', 'libsgx-ae-qe3', 'libsgx-ae-pce', 'libsgx-quote-ex']) expect(dcap).toContain(lib);
    expect(dcap).toMatch(/signed-by=/);
    expect(dcap).toMatch(/^CMD \["serve", "--provider", "dcap"\]$/m);
  });

  it('dcap: the quote provider library is a build argument, Intel default QPL or Azure az-dcap-client, anything else refused', () => {
    const dcap = dockerfile.slice(dockerfile.indexOf('AS dcap'));
    expect(dcap).toMatch(/^ARG QPL=intel$/m);
    const choice = /case "\$\{QPL\}" in([\s\S]*?)esac/.exec(dcap)![1];
    expect(choice).toMatch(/intel\) qpl_packages="libsgx-dcap-default-qpl"/);
    expect(choice).toMatch(/azure\)[\s\S]*packages\.microsoft\.com[\s\S]*qpl_packages="az-dcap-client"/);
    expect(choice).toMatch(/\*\) echo "QPL must be intel or azure[^"]*" >&2; exit 1/);
    expect(dcap).toMatch(/install -y --no-install-recommends \\\n[^\n]*\n[^\n]*\$\{qpl_packages\}/);
  });

  it('runs Node 24, pinned to the release CI tests on', () => {
    const ci = readFileSync('.ci/run', 'utf8');
    const tested = /^NODE24_VERSION=(\d+\.\d+\.\d+)/m.exec(ci)![1];
    expect(dockerfile).toMatch(new RegExp(`^ARG NODE_IMAGE=node:${tested.replaceAll('.', '\\.')}-bookworm-slim$`, 'm'));
    expect(tested.startsWith('24.')).toBe(true);
  });

  it("runs the package's CLI entry point, built where tsconfig.build.json puts it", () => {
    const bin = pkg.bin['sgx-quote-helper'] as string;
    const entry = [...dockerfile.matchAll(/^ENTRYPOINT \["node", "\/app\/([^"]+)"\]$/gm)].map((m) => m[1]);
    expect(entry).toEqual([bin, bin]);
    const build = JSON.parse(readFileSync('tsconfig.build.json', 'utf8'));
    expect(bin.startsWith(`${build.compilerOptions.outDir}/`)).toBe(true);
  });
});
