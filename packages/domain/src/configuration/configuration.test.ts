import { Cron } from 'croner';
import * as v from 'valibot';
import { describe, expect, it, vi } from 'vitest';
import {
  CONFIG_KEYS,
  ConfigValueSchemas,
  latestScheduledTime,
  nextScheduledTime,
  parseConfiguration,
  UpdateConfigurationRequestSchema,
} from './configuration.js';

const body = (entries: [string, string][]) => ({
  configurations: entries.map(([config_key, config_value]) => ({ config_key, config_value })),
});
function refusal(entries: [string, string][]): string {
  const parsed = v.safeParse(UpdateConfigurationRequestSchema, body(entries));
  expect(parsed.success).toBe(false);
  return parsed.issues!.map((i) => i.message).join('; ');
}

describe('configuration values', () => {
  const good: Record<(typeof CONFIG_KEYS)[number], string[]> = {
    CONSISTENCY_DIR: [
      '["/root/data"]',
      '["/root/data","/var/www"]',
      JSON.stringify([`/${'d'.repeat(1023)}`]),
    ],
    CONSISTENCY_MODE: ['quick', 'content'],
    CONSISTENCY_RECHECK: ['true', 'false'],
    CONSISTENCY_SOURCE: ['/', '/mnt/old'],
    CONSISTENCY_TARGET: [
      '/mnt/new',
      'web-02:/srv',
      'root@web-02:/srv',
      'ssh://root@web-02:2222/srv',
      'ssh://[::1]/srv',
      'ssh://[::1]:22/srv',
      'ssh://host:65535/srv',
      'ssh://host/~/srv',
      'ssh://host/with%20space',
    ],
    CONSISTENCY_EXCLUDE: ['["*.tmp"]', '["/proc/","cache/**"]'],
    CONSISTENCY_METADATA: ['["mode"]', '["mode","uid","gid"]'],
    CONSISTENCY_SCHEDULE: ['0 3 * * *', '*/15 * * * *', '0 0 3 * * 1-5'],
    CONSISTENCY_TIMEZONE: ['UTC', 'Europe/Berlin', 'Asia/Shanghai'],
    CONSISTENCY_AGENT: ['web-01', 'web-01.example.com', 'x', 'h'.repeat(255), '源主机-01'],
  };
  const bad: Record<(typeof CONFIG_KEYS)[number], [string, RegExp][]> = {
    CONSISTENCY_DIR: [
      ['/root/data', /JSON array of absolute directories/],
      ['[]', /at least one/],
      ['["data"]', /absolute/],
      ['["/a","/a"]', /once/],
      [JSON.stringify([`/${'d'.repeat(1024)}`]), /1024/],
      ['[1]', /string/],
    ],
    CONSISTENCY_MODE: [
      ['fast', /quick or content/],
      ['QUICK', /quick or content/],
    ],
    CONSISTENCY_RECHECK: [
      ['yes', /true or false/],
      ['1', /true or false/],
    ],
    CONSISTENCY_SOURCE: [
      ['relative', /absolute/],
      ['/a\0b', /NUL/],
      ['/a\ud800', /lone surrogate/],
    ],
    CONSISTENCY_TARGET: [
      ['relative/dir', /absolute path/],
      ['host:relative', /absolute path/],
      ['ssh://host', /absolute path/],
      ['/srv/\udc00', /lone surrogate/],
      // as the agent refuses them when it runs
      ['ssh://host:0/srv', /port must be 1\.\.65535/],
      ['ssh://host:70000/srv', /port must be 1\.\.65535/],
      ['ssh://host/%zz', /%-escapes/],
      ['ssh://host/~bob/x', /~user is not expanded/],
    ],
    CONSISTENCY_EXCLUDE: [
      ['*.tmp', /JSON array/],
      ['[""]', /1/],
      // as the agent refuses them when it runs (every run of the task would fail)
      ['["/"]', /an empty pattern would exclude nothing useful/],
      ['["- "]', /an empty pattern/],
      ['["+ keep"]', /"\+ " is rsync's include rule/],
      ['["*.log","a\\\\*"]', /a backslash in a pattern with wildcards/],
      ['["[z-a]"]', /not a pattern/],
      ['["[[:digits:]]"]', /\[:digits:\] is no character class/],
    ],
    CONSISTENCY_METADATA: [
      ['mode', /JSON array/],
      ['["owner"]', /mode, uid or gid/],
      ['["mode","mode"]', /once/],
    ],
    CONSISTENCY_SCHEDULE: [
      ['every day', /5 or 6 fields/],
      ['61 * * * *', /croner/],
      ['* * *', /5 or 6 fields/],
      ['0 0 30 2 *', /never run/],
    ],
    CONSISTENCY_TIMEZONE: [
      ['Mars/Olympus', /IANA/],
      ['', /1/],
    ],
    CONSISTENCY_AGENT: [
      ['h'.repeat(256), /255/],
      ['web\n01', /control character/],
      ['web\u000001', /control character/],
      ['web-01 ', /space/],
      [' web-01', /space/],
    ],
  };

  it.each(CONFIG_KEYS)('%s takes its good values and refuses bad ones, naming the key', (key) => {
    for (const value of good[key]) expect(v.is(ConfigValueSchemas[key], value), `${key}=${value}`).toBe(true);
    for (const [value, why] of bad[key]) {
      if (value === '') continue; // "" removes a key in a request
      const message = refusal([[key, value]]);
      expect(message, `${key}=${value}`).toContain(`configurations[0].config_value: ${key}:`);
      expect(message, `${key}=${value}`).toMatch(why);
    }
  });
});

describe('UpdateConfigurationRequestSchema', () => {
  it('refuses an unknown key, a key twice, no entries, and more entries than keys', () => {
    expect(refusal([['CONSISTENCY_SPEED', 'fast']])).toMatch(
      /unknown key "CONSISTENCY_SPEED"; expected one of CONSISTENCY_DIR/,
    );
    expect(
      refusal([
        ['CONSISTENCY_MODE', 'quick'],
        ['CONSISTENCY_MODE', 'content'],
      ]),
    ).toMatch(/given twice/);
    expect(v.is(UpdateConfigurationRequestSchema, { configurations: [] })).toBe(false);
    expect(v.is(UpdateConfigurationRequestSchema, { configurations: [], extra: 1 })).toBe(false);
    const all = CONFIG_KEYS.map((k): [string, string] => [k, '']);
    expect(v.is(UpdateConfigurationRequestSchema, body(all))).toBe(true);
    expect(v.is(UpdateConfigurationRequestSchema, body([...all, ['CONSISTENCY_MODE', 'quick']]))).toBe(false);
  });

  it('takes "" for any key: it removes the key', () => {
    expect(v.is(UpdateConfigurationRequestSchema, body([['CONSISTENCY_DIR', '']]))).toBe(true);
  });
});

describe('parseConfiguration', () => {
  it('gives the agent typed values, and reports what it cannot read', () => {
    const { configuration, problems } = parseConfiguration([
      { config_key: 'CONSISTENCY_DIR', config_value: '["/a","/b"]' },
      { config_key: 'CONSISTENCY_RECHECK', config_value: 'true' },
      { config_key: 'CONSISTENCY_MODE', config_value: 'content' },
      { config_key: 'CONSISTENCY_METADATA', config_value: '["uid"]' },
      { config_key: 'CONSISTENCY_NEWER', config_value: 'x' },
    ]);
    expect(configuration).toEqual({ dirs: ['/a', '/b'], recheck: true, mode: 'content', metadata: ['uid'] });
    expect(problems).toEqual(['unknown key CONSISTENCY_NEWER']);
  });
});

describe('nextScheduledTime', () => {
  it('reads the schedule in its time zone', () => {
    const after = Date.UTC(2026, 11, 5, 12, 0, 0);
    expect(nextScheduledTime('0 3 * * *', 'UTC', after)).toBe(Date.UTC(2026, 11, 6, 3, 0, 0));
    // 03:00 in Berlin (UTC+1 in December) is 02:00 UTC
    expect(nextScheduledTime('0 3 * * *', 'Europe/Berlin', after)).toBe(Date.UTC(2026, 11, 6, 2, 0, 0));
    expect(nextScheduledTime('*/15 * * * *', undefined, after)).toBe(Date.UTC(2026, 11, 5, 12, 15, 0));
  });
});

describe('latestScheduledTime', () => {
  /** The forward walk it must agree with: every time nextScheduledTime gives in (after, upTo]. */
  function walked(schedule: string, timezone: string | undefined, after: number, upTo: number) {
    let latest: number | undefined;
    for (let next = nextScheduledTime(schedule, timezone, after); next !== undefined && next <= upTo; )
      [latest, next] = [next, nextScheduledTime(schedule, timezone, next)];
    return latest;
  }

  it('gives the latest time in the window, or none, as the forward walk does', () => {
    const upTo = Date.UTC(2026, 11, 6, 2, 30, 0);
    const day = 24 * 3600 * 1000;
    for (const [schedule, timezone] of [
      ['0 3 * * *', 'UTC'],
      ['0 3 * * *', 'Europe/Berlin'],
      ['*/15 * * * *', undefined],
      ['0 0 * * 0', 'America/New_York'],
    ] as const) {
      for (const span of [60_000, 3600_000, day, 7 * day]) {
        expect(
          latestScheduledTime(schedule, timezone, upTo - span, upTo),
          `${schedule} ${timezone} ${span}`,
        ).toBe(walked(schedule, timezone, upTo - span, upTo));
      }
    }
    // 02:00 UTC was 03:00 in Berlin: within a day back, not within an hour
    expect(latestScheduledTime('0 3 * * *', 'Europe/Berlin', upTo - day, upTo)).toBe(
      Date.UTC(2026, 11, 6, 2, 0, 0),
    );
    expect(latestScheduledTime('0 3 * * *', 'UTC', upTo - 3600_000, upTo)).toBeUndefined();
    // a time exactly at the end is in; exactly at the start is not
    expect(latestScheduledTime('0 3 * * *', 'UTC', upTo - day, Date.UTC(2026, 11, 6, 3))).toBe(
      Date.UTC(2026, 11, 6, 3),
    );
    expect(
      latestScheduledTime('0 3 * * *', 'UTC', Date.UTC(2026, 11, 6, 3), Date.UTC(2026, 11, 6, 4)),
    ).toBeUndefined();
  });

  it('agrees with the forward walk across daylight saving time changes', () => {
    const hour = 3600_000;
    // Berlin: 2026-03-29 02:00 -> 03:00 and 2026-10-25 03:00 -> 02:00
    for (const change of [Date.UTC(2026, 2, 29, 1), Date.UTC(2026, 9, 25, 1)]) {
      for (const schedule of ['30 2 * * *', '0 * * * *', '*/20 * * * *']) {
        for (let upTo = change - 3 * hour; upTo <= change + 3 * hour; upTo += 10 * 60_000) {
          expect(
            latestScheduledTime(schedule, 'Europe/Berlin', upTo - 2 * hour, upTo),
            `${schedule} ${upTo}`,
          ).toBe(walked(schedule, 'Europe/Berlin', upTo - 2 * hour, upTo));
        }
      }
    }
  });

  it('takes a few steps for a schedule of every second over a week', () => {
    const upTo = Date.UTC(2026, 11, 6, 2, 30, 0, 500);
    const steps = vi.spyOn(Cron.prototype, 'nextRun');
    try {
      expect(latestScheduledTime('* * * * * *', undefined, upTo - 7 * 24 * 3600_000, upTo)).toBe(
        Date.UTC(2026, 11, 6, 2, 30, 0),
      );
      // the forward walk from the window's start would take 604,800
      expect(steps.mock.calls.length).toBeLessThanOrEqual(4);
    } finally {
      steps.mockRestore();
    }
  });
});
