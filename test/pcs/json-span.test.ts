import { describe, expect, it } from 'vitest';
import { JsonSpanError, rawMemberText, topLevelSpans } from '../../src/pcs/json-span.js';

describe('raw JSON member slicing', () => {
  it('returns the exact source text, whitespace, escapes and number spellings included', () => {
    const inner = '{ "a" : [1, 2.50, {"b":"}\\"]"}], "c":"\\u00e9" }';
    const text = `  {"x":"{\\"tcbInfo\\":1}" ,\n "tcbInfo" :${inner} , "n": -1.0e3, "t":true}`;
    expect(rawMemberText(text, 'tcbInfo')).toBe(inner);
    expect(rawMemberText(text, 'n')).toBe('-1.0e3');
    expect(rawMemberText(text, 't')).toBe('true');
    expect(rawMemberText(text, 'x')).toBe('"{\\"tcbInfo\\":1}"');
    expect(rawMemberText(text, 'missing')).toBeUndefined();
  });

  it('keeps the first of duplicate keys and ignores nested keys of the same name', () => {
    const text = '{"o":{"tcbInfo":0},"tcbInfo":{"v":1},"tcbInfo":{"v":2}}';
    expect(rawMemberText(text, 'tcbInfo')).toBe('{"v":1}');
    expect([...topLevelSpans(text).keys()]).toEqual(['o', 'tcbInfo']);
  });

  it('rejects invalid JSON and non-objects with a typed error', () => {
    for (const bad of ['', '[1]', '{"a":', '{"a" 1}', '"str"', '{"a":1}}']) {
      expect(() => topLevelSpans(bad)).toThrow(JsonSpanError);
    }
  });
});
