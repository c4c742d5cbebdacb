import { describe, expect, it } from 'vitest';
import { EXPIRY_FORMATS, FieldFormatError, formatExpiry, joinList } from '../../udfs/index.ts';

const DEC_23 = Date.UTC(2026, 11, 23); // 2026-12-23T00:00:00Z

describe('formatExpiry', () => {
  it('writes each format', () => {
    expect(formatExpiry(DEC_23, 'epoch-seconds')).toBe('1797984000');
    expect(formatExpiry(DEC_23, 'epoch-millis')).toBe('1797984000000');
    expect(formatExpiry(DEC_23, 'iso8601')).toBe('2026-12-23T00:00:00Z');
    expect(EXPIRY_FORMATS).toEqual(['epoch-seconds', 'epoch-millis', 'iso8601']);
  });

  it('floors sub-second parts in second-precision formats', () => {
    expect(formatExpiry(DEC_23 + 1999, 'epoch-seconds')).toBe('1797984001');
    expect(formatExpiry(DEC_23 + 1999, 'iso8601')).toBe('2026-12-23T00:00:01Z');
    expect(formatExpiry(DEC_23 + 1999, 'epoch-millis')).toBe('1797984001999');
  });

  it('refuses instants that are not whole epoch milliseconds, and unknown formats', () => {
    for (const bad of [Number.NaN, 1.5, -1, Infinity, 9e15]) expect(() => formatExpiry(bad, 'epoch-millis')).toThrow(/expiry: expected epoch milliseconds/);
    expect(() => formatExpiry(DEC_23, 'rfc2822' as never)).toThrow(/unknown format "rfc2822"; expected one of epoch-seconds, epoch-millis, iso8601/);
  });
});

describe('joinList', () => {
  it('joins with the delimiter, keeping order', () => {
    expect(joinList(['b', 'a', 'c'], ',', 'x')).toBe('b,a,c');
    expect(joinList(['acme-auto', '55012'], '|', 'x')).toBe('acme-auto|55012');
    expect(joinList([], ',', 'x')).toBe('');
    expect(joinList(['one'], '::', 'x')).toBe('one');
  });

  it('refuses a value holding the delimiter, naming where, the value and its position', () => {
    const call = () => joinList(['ok', 'a,b'], ',', 'partner 17 segments of cookie C');
    expect(call).toThrow(FieldFormatError);
    expect(call).toThrow('partner 17 segments of cookie C: value 1 "a,b" contains the list delimiter ","; choose another delimiter or change the value');
    expect(() => joinList(['a::b'], '::', 'w')).toThrow(/contains the list delimiter "::"/);
  });

  it('refuses values with newlines or carriage returns, and bad delimiters', () => {
    expect(() => joinList(['a\nb'], ',', 'w')).toThrow('w: value 0 "a\\nb" contains a newline, which would split the row; change the value');
    expect(() => joinList(['a\rb'], ',', 'w')).toThrow(/contains a newline/);
    expect(() => joinList(['a'], '', 'w')).toThrow(/w: the list delimiter is empty/);
    expect(() => joinList(['a'], '\n', 'w')).toThrow(/holds a newline/);
  });
});
