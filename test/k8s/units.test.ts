import { describe, expect, it } from 'vitest';
import {
  ListenAddressError,
  QuantityError,
  escapePointerToken,
  isIntegral,
  parseListenAddress,
  parseQuantity,
  pointer,
  quantitiesEqual,
} from '../../src/k8s/index.js';

describe('quantities', () => {
  it.each([
    ['1', 1n, 1n],
    ['512Ki', 524288n, 1n],
    ['10Mi', 10485760n, 1n],
    ['1.5Ki', 15360n, 10n],
    ['100m', 100n, 1000n],
    ['1e3', 1000n, 1n],
    ['2E-3', 2n, 1000n],
    ['.5', 5n, 10n],
    ['+3k', 3000n, 1n],
  ])('%s parses exactly', (text, num, den) => {
    expect(parseQuantity(text)).toEqual({ num, den });
  });

  it('tells whole numbers from fractions without floating point', () => {
    expect(isIntegral(parseQuantity('1.5Ki'))).toBe(true);
    expect(isIntegral(parseQuantity('0.5Mi'))).toBe(true);
    expect(isIntegral(parseQuantity('1.5'))).toBe(false);
    expect(isIntegral(parseQuantity('1001m'))).toBe(false);
    expect(isIntegral(parseQuantity('1000m'))).toBe(true);
    expect(quantitiesEqual(parseQuantity('1Mi'), parseQuantity('1048576'))).toBe(true);
    expect(quantitiesEqual(parseQuantity('1M'), parseQuantity('1Mi'))).toBe(false);
    expect(parseQuantity(10)).toEqual({ num: 10n, den: 1n });
  });

  it.each(['', 'Mi', '1 Mi', '1MB', 'ten', '1e', '--1', '1.2.3', '1e999'])('rejects %j with a typed error', (text) => {
    expect(() => parseQuantity(text)).toThrow(QuantityError);
  });
});

describe('JSON pointers', () => {
  it('escapes ~ before / (RFC 6901)', () => {
    expect(escapePointerToken('sgx.intel.com/epc')).toBe('sgx.intel.com~1epc');
    expect(escapePointerToken('a~1/b')).toBe('a~01~1b');
    expect(pointer('metadata', 'annotations', 'x/y~z')).toBe('/metadata/annotations/x~1y~0z');
    expect(pointer('spec', 'containers', 0, 'env', '-')).toBe('/spec/containers/0/env/-');
  });
});

describe('listen addresses', () => {
  it('parses IPv4, names and bracketed IPv6', () => {
    expect(parseListenAddress('0.0.0.0:9443')).toEqual({ host: '0.0.0.0', port: 9443 });
    expect(parseListenAddress('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    expect(parseListenAddress('[::]:9443')).toEqual({ host: '::', port: 9443 });
  });
  it.each(['9443', ':9443', '1.2.3.4:70000', '[zz]:1', '::1:9443', 'host:port'])('rejects %j', (text) => {
    expect(() => parseListenAddress(text)).toThrow(ListenAddressError);
  });
});
