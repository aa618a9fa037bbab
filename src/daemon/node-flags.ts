/**
 * The V8 heap settings the quote daemon is started with: by `npm start` (scripts/start.mjs), the Helm
 * chart's DaemonSet (`daemon.nodeOptions`, as NODE_OPTIONS), the dcap image, the bench and the
 * reliability suite, so what is measured is what runs.
 *
 * Why (measured, docs/operations.md "Memory"): the daemon's live heap is ~15-25 MB even under the
 * reliability suite's abuse scenarios, but with V8's defaults (sized for a desktop: old generation
 * allowed to grow up to 4x the live size before the next full GC, 16-32 MB semi-spaces) its RSS under
 * a connection flood was 170-210 MB on Node 20 and 220-340 MB on Node 24, almost all of it garbage
 * waiting for the collector. An old-space cap of 256 MB (still ten times the live heap; the daemon's
 * inputs are bounded, so its live heap cannot approach it) makes V8 use its small-heap growing factor
 * (~1.3), and small semi-spaces keep the young generation small. 1 MB semi-spaces (2 MB until
 * 2026-12-02), together with DAEMON_ENV below: abuse peaks 3-9 MB lower than before, CPU per request
 * the same within the bench's noise (docs/benchmarks.md, fourth session).
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-old-space-size=256', '--max-semi-space-size=1'];

/**
 * Environment the daemon is started with wherever we start it (npm start, the chart, the dcap image, the
 * bench and the reliability suite). MALLOC_ARENA_MAX=2: glibc gives every thread that allocates its own
 * malloc arena (up to 8 per core) and keeps freed memory in each; the daemon's threads (libuv pool, V8
 * workers) need no more than two. It must be in the environment before the process starts.
 */
export const DAEMON_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

/** The same, as a NODE_OPTIONS value (both flags are allowed there). */
export const DAEMON_NODE_OPTIONS = DAEMON_NODE_FLAGS.join(' ');
