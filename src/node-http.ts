/**
 * node:http, loaded the CommonJS way. Why: on Node 24 an ES import of node:http (even of a single name)
 * builds the module's whole namespace, and its `WebSocket`, `CloseEvent` and `MessageEvent` exports are
 * lazy getters that load Node's bundled undici (a 750 KB script): measured here (Node 24.22.3) ~12 MB more
 * RSS, ~6 MB of it heap and native memory and ~6 MB pages of the node binary, in processes that never use
 * a WebSocket. `require` leaves the getters alone. Node 20 is unaffected (its node:http has no such exports).
 * docs/benchmarks.md "Memory" has the daemon's numbers.
 */
import { createRequire } from 'node:module';
import type * as NodeHttp from 'node:http';

export const http = createRequire(import.meta.url)('node:http') as typeof NodeHttp;
