/**
 * node:http, loaded the CommonJS way. Why: on Node 24 an ES import of node:http (even of a single name)
 * builds the module's whole namespace, and its `WebSocket`, `CloseEvent` and `MessageEvent` exports are
 * lazy getters that load Node's bundled undici (a 750 KB script) into processes that never use a
 * WebSocket. Measured on Node 24.22.3: ~12 MB more RSS in a bare process, ~2-3 MB in the daemon (idle heap
 * 18.4 -> 16.7 MB used, external 4.5 -> 3.4 MB; docs/benchmarks.md, fourth session). `require` leaves the
 * getters alone. Node 20 is unaffected (its node:http has no such exports).
 */
import { createRequire } from 'node:module';
import type * as NodeHttp from 'node:http';

export const http = createRequire(import.meta.url)('node:http') as typeof NodeHttp;
