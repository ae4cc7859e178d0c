import { join } from 'node:path';
import type { ConfigurationEntry, TaskConfiguration } from '@sms/domain';
import type { MetadataField, Mode } from '../engine/types.js';
import { parseRemoteTarget } from '../remote/target.js';
import type { VerifyOptions } from '../verify.js';
import { targetOptions, type UploadContext, type VerificationPlan } from './verification.js';

/**
 * The task's configuration cannot be run as it is (a key missing, a value
 * this agent cannot read): the message names the key and how to set it.
 * `run` exits 2 with it; the daemon fails the request with it.
 */
export class TaskConfigurationError extends Error {
  override name = 'TaskConfigurationError';
}

/** Values given on the command line instead of the task's (each said on stderr when it replaces one). */
export interface TaskOverrides {
  source?: string | undefined;
  target?: string | undefined;
  /** Absolute, as on the source server (as `CONSISTENCY_DIR`). */
  dirs?: string[] | undefined;
  mode?: Mode | undefined;
  recheck?: boolean | undefined;
  excludes?: string[] | undefined;
  metadata?: MetadataField[] | undefined;
}

/** What the task's configuration has no key for. */
export interface TaskRunSettings {
  ssh?: string | undefined;
  remoteAgent?: string | undefined;
  workers?: number | undefined;
  ioTimeoutSeconds?: number | undefined;
  reportFile?: string | undefined;
  output: VerificationPlan['output'];
  progress: boolean;
  findings: boolean;
}

/** Keys the agent does not use (the server's schedule): a value of them it cannot read stops nothing. */
const SERVER_ONLY_KEYS = ['CONSISTENCY_SCHEDULE', 'CONSISTENCY_TIMEZONE', 'CONSISTENCY_AGENT'];

/** The command an admin runs to set a key of the task (the dashboard's task page does it too). */
export function setCommand(task: string, key: string, example: string): string {
  return `sms-agent config --task ${task} '${key}=${example}' (with an admin's credentials), or on the task's page of the dashboard`;
}

const OVERRIDES: {
  key: string;
  flag: string;
  of: (c: TaskConfiguration) => unknown;
  given: (o: TaskOverrides) => unknown;
}[] = [
  { key: 'CONSISTENCY_SOURCE', flag: '--source', of: (c) => c.source, given: (o) => o.source },
  { key: 'CONSISTENCY_TARGET', flag: '--target', of: (c) => c.target, given: (o) => o.target },
  { key: 'CONSISTENCY_DIR', flag: '--dir', of: (c) => c.dirs, given: (o) => o.dirs },
  { key: 'CONSISTENCY_MODE', flag: '--mode', of: (c) => c.mode, given: (o) => o.mode },
  { key: 'CONSISTENCY_RECHECK', flag: '--recheck', of: (c) => c.recheck, given: (o) => o.recheck },
  { key: 'CONSISTENCY_EXCLUDE', flag: '--exclude', of: (c) => c.excludes, given: (o) => o.excludes },
  { key: 'CONSISTENCY_METADATA', flag: '--metadata', of: (c) => c.metadata, given: (o) => o.metadata },
];

/** How an override is written on the command line: `--mode content`, `--no-recheck`, `--dir /a --dir /b`. */
function asFlag(flag: string, value: unknown): string {
  if (typeof value === 'boolean') return value ? flag : flag.replace('--', '--no-');
  if (Array.isArray(value)) {
    // an --exclude-from file with no pattern in it clears the task's excludes: said, not an empty notice
    if (value.length === 0) return `${flag} (none: an --exclude-from file with no pattern)`;
    return flag === '--metadata' ? `${flag} ${value.join(',')}` : value.map((v) => `${flag} ${v}`).join(' ');
  }
  return `${flag} ${String(value)}`;
}

/**
 * The verification a task's configuration asks for, with the command line's
 * overrides: directory D of `CONSISTENCY_DIR` is verified as SOURCE+D against
 * TARGET+D, and its result's `dir_check` is D itself. Returns the plan and
 * the notices to say (each override of a value the task sets).
 */
export function planTaskRun(
  task: string,
  entries: readonly ConfigurationEntry[],
  parsed: { configuration: TaskConfiguration; problems: string[] },
  overrides: TaskOverrides,
  settings: TaskRunSettings,
  context: UploadContext,
): { plan: VerificationPlan; notices: string[] } {
  const of = (key: string) => (problem: string) => problem.startsWith(`${key}:`);
  const ofExcludes = of('CONSISTENCY_EXCLUDE');
  // a pattern this agent refuses (stored before the server checked them as it does): said as
  // such, and not in the way when --exclude or --exclude-from overrides the key
  const excludes = parsed.problems.filter(ofExcludes);
  if (excludes.length > 0 && overrides.excludes === undefined)
    throw new TaskConfigurationError(
      `task ${task}: its ${excludes.join('; ')}: this agent refuses that pattern; have an admin correct it (${setCommand(task, 'CONSISTENCY_EXCLUDE', '["*.log"]')}), or override it with --exclude or --exclude-from`,
    );
  const problems = parsed.problems.filter(
    (problem) => !ofExcludes(problem) && !SERVER_ONLY_KEYS.some((key) => of(key)(problem)),
  );
  if (problems.length > 0) {
    throw new TaskConfigurationError(
      `task ${task}: its configuration holds ${problems.length === 1 ? 'a value' : 'values'} this agent cannot read (${problems.join('; ')}): the server is newer than this sms-agent; install the agent of the server's version, or have an admin correct or remove the key`,
    );
  }
  const configured = parsed.configuration;
  const raw = new Map(entries.map((e) => [e.config_key, e.config_value]));
  const notices: string[] = [];
  for (const { key, flag, of, given } of OVERRIDES) {
    const value = given(overrides);
    if (value === undefined || of(configured) === undefined) continue;
    if (JSON.stringify(value) === JSON.stringify(of(configured))) continue;
    notices.push(`${asFlag(flag, value)} overrides the task's ${key} ${raw.get(key)}`);
  }
  const dirs = overrides.dirs ?? configured.dirs;
  if (dirs === undefined) {
    throw new TaskConfigurationError(
      `task ${task} sets no CONSISTENCY_DIR and no --dir was given: sms-agent cannot guess which directories to verify; give --dir /root/data (absolute, as on the source server; repeatable) or set it for the task: ${setCommand(task, 'CONSISTENCY_DIR', '["/root/data"]')}`,
    );
  }
  const target = overrides.target ?? configured.target;
  if (target === undefined) {
    throw new TaskConfigurationError(
      `task ${task} sets no CONSISTENCY_TARGET and no --target was given: sms-agent cannot guess where the migrated copy is; give --target /mnt/target (or host:/ over ssh) or set it for the task: ${setCommand(task, 'CONSISTENCY_TARGET', 'root@target-host:/')}`,
    );
  }
  const source = overrides.source ?? configured.source ?? '/';
  const remote = parseRemoteTarget(target);
  if (!remote && (settings.ssh !== undefined || settings.remoteAgent !== undefined)) {
    throw new TaskConfigurationError(
      `${settings.ssh !== undefined ? '--ssh' : '--remote-agent'} is for a target on another host (host:DIR or ssh://host/DIR); the target is ${target}`,
    );
  }
  const engine: VerificationPlan['engine'] = {
    source,
    ...targetOptions(target, remote, settings),
    dirs: dirs.map((dir) => ({ dir: join(source, dir), dirCheck: dir })),
    mode: overrides.mode ?? configured.mode ?? 'quick',
    recheck: overrides.recheck ?? configured.recheck ?? false,
    metadata: overrides.metadata ?? configured.metadata ?? [],
    excludes: overrides.excludes ?? configured.excludes ?? [],
    ...(settings.workers === undefined ? {} : { workers: settings.workers }),
  } satisfies Omit<VerifyOptions, 'signal'>;
  return {
    plan: {
      engine,
      reportFile: settings.reportFile,
      output: settings.output,
      progress: settings.progress,
      upload: { task, findings: settings.findings, context },
      ioTimeoutSeconds: settings.ioTimeoutSeconds,
    },
    notices,
  };
}

/** Reads the task's configuration from the server and plans its run (`planTaskRun`). */
export async function readTaskRun(
  task: string,
  overrides: TaskOverrides,
  settings: TaskRunSettings,
  context: UploadContext,
  signal?: AbortSignal,
): Promise<{ plan: VerificationPlan; notices: string[] }> {
  const { parseConfiguration } = await import('@sms/domain');
  const { configurations } = await context.client.getConfiguration(task, signal ? { signal } : {});
  return planTaskRun(task, configurations, parseConfiguration(configurations), overrides, settings, context);
}
