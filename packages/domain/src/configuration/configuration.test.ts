import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import {
  CONFIG_KEYS,
  ConfigValueSchemas,
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
    ],
    CONSISTENCY_EXCLUDE: ['["*.tmp"]', '["/proc/","cache/**"]'],
    CONSISTENCY_METADATA: ['["mode"]', '["mode","uid","gid"]'],
    CONSISTENCY_SCHEDULE: ['0 3 * * *', '*/15 * * * *', '0 0 3 * * 1-5'],
    CONSISTENCY_TIMEZONE: ['UTC', 'Europe/Berlin', 'Asia/Shanghai'],
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
    ],
    CONSISTENCY_TARGET: [
      ['relative/dir', /absolute path/],
      ['host:relative', /absolute path/],
      ['ssh://host', /absolute path/],
    ],
    CONSISTENCY_EXCLUDE: [
      ['*.tmp', /JSON array/],
      ['[""]', /1/],
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
    ],
    CONSISTENCY_TIMEZONE: [
      ['Mars/Olympus', /IANA/],
      ['', /1/],
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
