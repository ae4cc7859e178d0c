import { describe, expect, it } from 'vitest';
import { formatCount, plural } from './plural.js';

describe('formatCount', () => {
  it('writes a number as Intl en-US does', () => {
    const intl = new Intl.NumberFormat('en-US');
    const values = [0, 1, 7, 12, 999, 1000, 1001, 12_345, 999_999, 1_000_000, 100_000_000, 1_234_567_890];
    for (const n of [
      ...values,
      ...values.map((v) => -v),
      Number.MAX_SAFE_INTEGER,
      2 ** 53,
      1e21,
      0.5,
      1234.5678,
      NaN,
    ]) {
      expect(formatCount(n), String(n)).toBe(intl.format(n));
    }
  });

  it('counts with their noun', () => {
    expect(plural(0, 'file')).toBe('0 files');
    expect(plural(1, 'file')).toBe('1 file');
    expect(plural(1000, 'entry', 'entries')).toBe('1,000 entries');
  });
});
