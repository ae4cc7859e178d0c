import { describe, expect, it } from 'vitest';
import { httpDate, retryAfterMs } from './errors.js';

// Retry-After is delay-seconds or an HTTP date, and RFC 9110 (5.6.7) has recipients accept all
// three forms of a date: IMF-fixdate, RFC 850's and asctime's, each in UTC.
const at = Date.UTC(2026, 9, 21, 7, 28, 0); // Wed, 21 Oct 2026 07:28:00 GMT

describe('HTTP dates in Retry-After', () => {
  it('reads the three forms of the same moment alike', () => {
    expect(httpDate('Wed, 21 Oct 2026 07:28:00 GMT')).toBe(at);
    expect(httpDate('Wednesday, 21-Oct-26 07:28:00 GMT', at)).toBe(at);
    expect(httpDate('Wed Oct 21 07:28:00 2026')).toBe(at);
    // asctime pads a one-digit day with a space
    expect(httpDate('Sun Nov  6 08:49:37 1994')).toBe(Date.UTC(1994, 10, 6, 8, 49, 37));
    expect(httpDate('Sunday, 06-Nov-94 08:49:37 GMT', at)).toBe(Date.UTC(1994, 10, 6, 8, 49, 37));
  });

  it('takes a two-digit year as the latest one ending so that is not more than 50 years ahead', () => {
    expect(new Date(httpDate('Friday, 01-Jan-76 00:00:00 GMT', at)!).getUTCFullYear()).toBe(2076);
    expect(new Date(httpDate('Thursday, 01-Jan-77 00:00:00 GMT', at)!).getUTCFullYear()).toBe(1977);
    expect(new Date(httpDate('Saturday, 01-Jan-00 00:00:00 GMT', at)!).getUTCFullYear()).toBe(2000);
  });

  it('refuses what is not one of them, and days that do not exist', () => {
    for (const odd of [
      'Wed, 21 Oct 2026 07:28:00 UTC',
      'Wed, 21 Oct 2026 07:28:00 +0000',
      '2026-10-21T07:28:00Z',
      'Wed, 31 Feb 2026 07:28:00 GMT',
      'Wed Oct 21 07:28:00 2026 GMT',
      'Wed Oct 21 24:00:00 2026',
      'Wednesday, 21-Oct-2026 07:28:00 GMT',
      'soon',
    ])
      expect(httpDate(odd), odd).toBeUndefined();
  });

  it('waits until the date, at most a day, and not at all for one past', () => {
    expect(retryAfterMs('Wed Oct 21 07:28:30 2026', at)).toBe(30_000);
    expect(retryAfterMs('Wednesday, 21-Oct-26 07:29:00 GMT', at)).toBe(60_000);
    expect(retryAfterMs('Tue Oct 20 07:28:00 2026', at)).toBe(0);
    expect(retryAfterMs('Sat Oct 24 07:28:00 2026', at)).toBe(24 * 3600 * 1000);
    expect(retryAfterMs(' 30 ', at)).toBe(30_000);
  });
});
