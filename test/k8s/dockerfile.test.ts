// No container engine exists on the project's machines, so the Dockerfile cannot be built here. These
// checks tie it to the repository it builds from: whatever it COPYs is in the build context, the
// entrypoint is the package's CLI, and the chart's image tags exist as targets.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const dockerfile = readFileSync('Dockerfile', 'utf8');
const dockerignore = readFileSync('.dockerignore', 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));

describe('Dockerfile', () => {
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
    for (const lib of ['libsgx-dcap-ql', 'libsgx-dcap-default-qpl', 'libsgx-quote-ex']) expect(dcap).toContain(lib);
    expect(dcap).toMatch(/signed-by=/);
  });

  it("runs the package's CLI entry point, built where tsconfig.build.json puts it", () => {
    const bin = pkg.bin['sgx-quote-helper'] as string;
    const entry = [...dockerfile.matchAll(/^ENTRYPOINT \["node", "\/app\/([^"]+)"\]$/gm)].map((m) => m[1]);
    expect(entry).toEqual([bin, bin]);
    const build = JSON.parse(readFileSync('tsconfig.build.json', 'utf8'));
    expect(bin.startsWith(`${build.compilerOptions.outDir}/`)).toBe(true);
  });
});
