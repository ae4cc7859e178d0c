import { Cron } from 'croner';
import * as v from 'valibot';
import { DirCheckSchema } from '../consistency-result/consistency-result.js';
import { ExcludeError, parsePattern } from '../exclude/patterns.js';
import { noNul, wellFormed } from '../text/index.js';
import { AgentNameSchema } from '../verification/verification.js';

/**
 * A task's agent configuration, as SMS keeps it
 * (`POST/GET /v3/tasks/{task_id}/configuration-setting`, body
 * `{ "configurations": [ { "config_key", "config_value" } ] }`): each value
 * a string the agent parses, in the exact format its schema here defines.
 * `CONSISTENCY_DIR`, `CONSISTENCY_MODE` and `CONSISTENCY_RECHECK` are the
 * SMS page's; the others are ours, documented as extensions.
 */

/** The keys of the SMS page. */
export const SMS_CONFIG_KEYS = ['CONSISTENCY_DIR', 'CONSISTENCY_MODE', 'CONSISTENCY_RECHECK'] as const;
/** Our keys, beside them. */
export const OUR_CONFIG_KEYS = [
  'CONSISTENCY_SOURCE',
  'CONSISTENCY_TARGET',
  'CONSISTENCY_EXCLUDE',
  'CONSISTENCY_METADATA',
  'CONSISTENCY_SCHEDULE',
  'CONSISTENCY_TIMEZONE',
  'CONSISTENCY_AGENT',
] as const;
export const CONFIG_KEYS = [...SMS_CONFIG_KEYS, ...OUR_CONFIG_KEYS] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];

/** The limits of a configuration (ours). */
export const ConfigurationLimits = {
  /** Entries of one `POST`: 1 to one per key. */
  entriesMax: CONFIG_KEYS.length,
  /** A value, in characters. */
  valueMaxLength: 65_536,
  /** Directories of `CONSISTENCY_DIR`, patterns of `CONSISTENCY_EXCLUDE`. */
  listMax: 1000,
  /** A path (`CONSISTENCY_SOURCE`, `CONSISTENCY_TARGET`, an exclude pattern), in characters. */
  pathMaxLength: 4096,
} as const;

/** A JSON array of items valid by `item`, 1..`max` of them, no two the same: how lists are written. */
function jsonList<S extends v.GenericSchema<unknown, string>>(
  item: S,
  what: string,
  max: number = ConfigurationLimits.listMax,
) {
  return v.pipe(
    v.string(),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      try {
        const parsed = JSON.parse(dataset.value) as unknown;
        if (Array.isArray(parsed)) return parsed as unknown[];
      } catch {}
      addIssue({ message: `expected a JSON array of ${what}, such as ["…","…"]` });
      return NEVER;
    }),
    v.array(item),
    v.minLength(1, `expected at least one of ${what}`),
    v.maxLength(max),
    v.check((list) => new Set(list).size === list.length, `expected each of ${what} once`),
  );
}

/** An absolute path: starts with `/`, no NUL, at most 4096 characters. */
const AbsolutePathSchema = v.pipe(
  v.string(),
  v.minLength(1),
  v.maxLength(ConfigurationLimits.pathMaxLength),
  noNul(),
  wellFormed(),
  v.startsWith('/', 'expected an absolute path, starting with /'),
);

/**
 * A target: an absolute path on the agent's host, or a directory on another
 * host over SSH, as `sms-agent verify --target` takes it: `[user@]host:/path`
 * or `ssh://[user@]host[:port]/path`.
 */
export const TargetSchema = v.pipe(
  v.string(),
  v.minLength(1),
  v.maxLength(ConfigurationLimits.pathMaxLength),
  noNul(),
  wellFormed(),
  v.check(
    (target) =>
      target.startsWith('ssh://')
        ? /^ssh:\/\/(?:[^@/\s]+@)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::\d{1,5})?\/.*$/.test(target)
        : target.startsWith('/') ||
          /^(?:[^@/:\s]+@)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):\/.*$/.test(target),
    'expected an absolute path (/srv/data), [user@]host:/path or ssh://[user@]host[:port]/path',
  ),
  // what the agent's ssh target refuses too (remote/target.ts): a port out of range, a bad %-escape, ~user
  v.check((target) => {
    const port = /^ssh:\/\/(?:[^@/\s]+@)?(?:\[[^\]]*\]|[^:/]+):(\d+)\//.exec(target)?.[1];
    return port === undefined || (Number(port) >= 1 && Number(port) <= 65_535);
  }, 'the port must be 1..65535'),
  v.check((target) => {
    if (!target.startsWith('ssh://')) return true;
    const path = target.slice(target.indexOf('/', 'ssh://'.length));
    try {
      return !/^\/~[^/]/.test(decodeURIComponent(path));
    } catch {
      return false;
    }
  }, "an ssh:// path must have good %-escapes, and ~user is not expanded: give the directory from / (ssh://host/home/user/DIR), or below the login user's home (ssh://host/~/DIR)"),
);

/** A cron expression of 5 fields (minute to weekday) or 6 (with seconds first), as croner reads it. */
export const CronExpressionSchema = v.pipe(
  v.string(),
  v.minLength(1),
  v.maxLength(200),
  v.check(
    (expression) => /^\S+(\s+\S+){4,5}$/.test(expression.trim()),
    'expected 5 or 6 fields, such as "0 3 * * *"',
  ),
  v.check((expression) => {
    try {
      new Cron(expression, { paused: true });
      return true;
    } catch {
      return false;
    }
  }, 'not a cron expression croner can read, such as "0 3 * * *" (03:00 every day)'),
  v.check((expression) => {
    try {
      return new Cron(expression, { paused: true }).nextRun() !== null;
    } catch {
      return true; // said by the check above
    }
  }, 'no time ever matches it (such as "0 0 30 2 *", February 30): it would never run'),
);

/** An IANA time zone such as `Europe/Berlin` or `UTC`. */
export const TimeZoneSchema = v.pipe(
  v.string(),
  v.minLength(1),
  v.maxLength(100),
  v.check((zone) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: zone });
      return true;
    } catch {
      return false;
    }
  }, 'expected an IANA time zone such as Europe/Berlin or UTC'),
);

/** The schema of each key's value: what the agent reads from the string. */
export const ConfigValueSchemas = {
  /** The directories to verify, absolute on the source: a JSON array such as `["/root/data","/var/www"]`. */
  CONSISTENCY_DIR: jsonList(
    v.pipe(DirCheckSchema, v.startsWith('/', 'expected absolute directories, starting with /')),
    'absolute directories',
  ),
  /** `quick` (type, size and modification time) or `content` (type, size and bytes). */
  CONSISTENCY_MODE: v.picklist(['quick', 'content'], 'expected quick or content'),
  /** `true` or `false`: verify what differed once more after the walk. */
  CONSISTENCY_RECHECK: v.picklist(['true', 'false'], 'expected true or false'),
  /** Ours: the source root the directories are under (default `/`). */
  CONSISTENCY_SOURCE: AbsolutePathSchema,
  /** Ours: the target root: an absolute path on the agent's host, or over SSH. */
  CONSISTENCY_TARGET: TargetSchema,
  /**
   * Ours: patterns left out on both sides, as `--exclude`: a JSON array of strings, each one the
   * agent takes (`parsePattern`: one it refuses would fail every run of the task).
   */
  CONSISTENCY_EXCLUDE: jsonList(
    v.pipe(
      v.string(),
      v.minLength(1),
      v.maxLength(ConfigurationLimits.pathMaxLength),
      noNul(),
      wellFormed(),
      v.rawCheck(({ dataset, addIssue }) => {
        if (!dataset.typed) return;
        try {
          parsePattern(dataset.value);
        } catch (error) {
          if (!(error instanceof ExcludeError)) throw error;
          addIssue({ message: `${JSON.stringify(dataset.value)}: ${error.reason}` });
        }
      }),
    ),
    'exclude patterns',
  ),
  /** Ours: ownership and permissions compared too, a JSON array of `mode`, `uid`, `gid`. */
  CONSISTENCY_METADATA: jsonList(
    v.picklist(['mode', 'uid', 'gid'], 'expected mode, uid or gid'),
    'mode, uid, gid',
    3,
  ),
  /** Ours: when the server asks for a verification by itself: a cron expression. */
  CONSISTENCY_SCHEDULE: CronExpressionSchema,
  /** Ours: the time zone of the schedule (default UTC). */
  CONSISTENCY_TIMEZONE: TimeZoneSchema,
  /**
   * Ours: the one agent that may take the task's verification requests (its daemon's `--name`,
   * default its host name): the task's source host. Unset, any agent of the project may.
   */
  CONSISTENCY_AGENT: AgentNameSchema,
} as const satisfies Record<ConfigKey, v.GenericSchema<string, unknown>>;

/** A task's configuration as the agent uses it: each key parsed, absent keys left out. */
export interface TaskConfiguration {
  dirs?: string[];
  mode?: 'quick' | 'content';
  recheck?: boolean;
  source?: string;
  target?: string;
  excludes?: string[];
  metadata?: ('mode' | 'uid' | 'gid')[];
  schedule?: string;
  timezone?: string;
  agent?: string;
}

/** One entry of the body; `config_value` `""` removes the key. */
export const ConfigurationEntrySchema = v.strictObject({
  config_key: v.pipe(v.string(), v.maxLength(100)),
  config_value: v.pipe(v.string(), v.maxLength(ConfigurationLimits.valueMaxLength)),
});
export type ConfigurationEntry = v.InferOutput<typeof ConfigurationEntrySchema>;

function isConfigKey(key: string): key is ConfigKey {
  return (CONFIG_KEYS as readonly string[]).includes(key);
}

/**
 * The body of `POST /v3/tasks/{task_id}/configuration-setting`: 1..10
 * entries, each key known and once, each value valid by its key's schema
 * (or `""`, which removes the key). A broken rule names the key.
 */
export const UpdateConfigurationRequestSchema = v.pipe(
  v.strictObject({
    configurations: v.pipe(
      v.array(ConfigurationEntrySchema),
      v.minLength(1, 'expected at least one configuration'),
      v.maxLength(ConfigurationLimits.entriesMax),
    ),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const seen = new Set<string>();
    dataset.value.configurations.forEach((entry, index) => {
      const at = `configurations[${index}]`;
      if (!isConfigKey(entry.config_key)) {
        addIssue({
          message: `${at}.config_key: unknown key ${JSON.stringify(entry.config_key.slice(0, 100))}; expected one of ${CONFIG_KEYS.join(', ')}`,
        });
        return;
      }
      if (seen.has(entry.config_key)) {
        addIssue({ message: `${at}.config_key: ${entry.config_key} is given twice; give each key once` });
        return;
      }
      seen.add(entry.config_key);
      if (entry.config_value === '') return;
      const parsed = v.safeParse(ConfigValueSchemas[entry.config_key], entry.config_value);
      if (!parsed.success) {
        addIssue({
          message:
            `${at}.config_value: ${entry.config_key}: ${parsed.issues.map((i) => i.message).join('; ')}`.slice(
              0,
              900,
            ),
        });
      }
    });
  }),
);
export type UpdateConfigurationRequest = v.InferOutput<typeof UpdateConfigurationRequestSchema>;

/** The body of `GET /v3/tasks/{task_id}/configuration-setting`: every key set, in the order of `CONFIG_KEYS`. */
export const ConfigurationResponseSchema = v.strictObject({
  configurations: v.array(ConfigurationEntrySchema),
});
export type ConfigurationResponse = v.InferOutput<typeof ConfigurationResponseSchema>;

/**
 * The configuration an agent uses, parsed from the server's entries (unknown
 * keys and invalid values are reported, not dropped: the server never stores
 * them, so one means a newer server than this agent).
 */
export function parseConfiguration(entries: readonly ConfigurationEntry[]): {
  configuration: TaskConfiguration;
  problems: string[];
} {
  const configuration: TaskConfiguration = {};
  const problems: string[] = [];
  for (const { config_key: key, config_value: value } of entries) {
    if (!isConfigKey(key)) {
      problems.push(`unknown key ${key}`);
      continue;
    }
    const parsed = v.safeParse(ConfigValueSchemas[key], value);
    if (!parsed.success) {
      problems.push(`${key}: ${parsed.issues.map((i) => i.message).join('; ')}`);
      continue;
    }
    const out = parsed.output as never;
    switch (key) {
      case 'CONSISTENCY_DIR':
        configuration.dirs = out;
        break;
      case 'CONSISTENCY_MODE':
        configuration.mode = out;
        break;
      case 'CONSISTENCY_RECHECK':
        configuration.recheck = value === 'true';
        break;
      case 'CONSISTENCY_SOURCE':
        configuration.source = out;
        break;
      case 'CONSISTENCY_TARGET':
        configuration.target = out;
        break;
      case 'CONSISTENCY_EXCLUDE':
        configuration.excludes = out;
        break;
      case 'CONSISTENCY_METADATA':
        configuration.metadata = out;
        break;
      case 'CONSISTENCY_SCHEDULE':
        configuration.schedule = out;
        break;
      case 'CONSISTENCY_TIMEZONE':
        configuration.timezone = out;
        break;
      case 'CONSISTENCY_AGENT':
        configuration.agent = out;
        break;
    }
  }
  return { configuration, problems };
}

/** The next time a schedule asks for a verification after `after` (ms), or undefined when it never will. */
export function nextScheduledTime(
  schedule: string,
  timezone: string | undefined,
  after: number,
): number | undefined {
  const next = new Cron(schedule, { paused: true, timezone: timezone ?? 'UTC' }).nextRun(new Date(after));
  return next ? next.getTime() : undefined;
}

/**
 * The latest time a schedule asked for a verification in (`after`, `upTo`] (ms), or undefined: one
 * of the times `nextScheduledTime` gives (walked forward, so that a change of daylight saving time
 * counts as it does there), from just before croner's second-latest time at or before `upTo`, so
 * that a wide window (days, or a schedule of every second) costs a few steps, not one per time.
 */
export function latestScheduledTime(
  schedule: string,
  timezone: string | undefined,
  after: number,
  upTo: number,
): number | undefined {
  const cron = new Cron(schedule, { paused: true, timezone: timezone ?? 'UTC' });
  const previous = cron.previousRuns(2, new Date(upTo)).map((d) => d.getTime());
  const start = previous.length === 2 ? Math.max(after, previous[1]! - 1) : after;
  let latest: number | undefined;
  for (let next = cron.nextRun(new Date(start)); next && next.getTime() <= upTo; next = cron.nextRun(next)) {
    if (next.getTime() > after) latest = next.getTime();
  }
  return latest;
}
