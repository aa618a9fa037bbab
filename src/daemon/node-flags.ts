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
 * (~1.3), and 2 MB semi-spaces keep the young generation at 4 MB: peak RSS stays under 100 MB.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-old-space-size=256', '--max-semi-space-size=2'];

/** The same, as a NODE_OPTIONS value (both flags are allowed there). */
export const DAEMON_NODE_OPTIONS = DAEMON_NODE_FLAGS.join(' ');
