import { type ConfigurationEntry, parseConfiguration } from '@sms/domain';
import { describe, expect, it } from 'vitest';
import { planTaskRun, type TaskOverrides } from './task-run.js';
import type { UploadContext } from './verification.js';

const TASK = 'task-1';
const settings = { output: 'none', progress: false, findings: true } as const;
const context = {} as UploadContext;

function plan(config: Record<string, string>, overrides: TaskOverrides = {}) {
  const entries: ConfigurationEntry[] = Object.entries(config).map(([config_key, config_value]) => ({
    config_key,
    config_value,
  }));
  return planTaskRun(TASK, entries, parseConfiguration(entries), overrides, settings, context);
}

describe("a task's run as its configuration says", () => {
  it('verifies SOURCE+D against TARGET+D for each configured D, its result named D', () => {
    const { plan: p, notices } = plan({
      CONSISTENCY_DIR: '["/root/data","/var/www"]',
      CONSISTENCY_SOURCE: '/mnt/old',
      CONSISTENCY_TARGET: '/mnt/new',
      CONSISTENCY_RECHECK: 'true',
      CONSISTENCY_EXCLUDE: '["*.log"]',
      CONSISTENCY_METADATA: '["mode"]',
    });
    expect(notices).toEqual([]);
    expect(p.engine).toMatchObject({
      source: '/mnt/old',
      target: '/mnt/new',
      dirs: [
        { dir: '/mnt/old/root/data', dirCheck: '/root/data' },
        { dir: '/mnt/old/var/www', dirCheck: '/var/www' },
      ],
      mode: 'quick',
      recheck: true,
      excludes: ['*.log'],
      metadata: ['mode'],
    });
    expect(p.upload).toMatchObject({ task: TASK, findings: true });
  });

  it('takes an ssh target as verify --target does, and the source / by default', () => {
    const { plan: p } = plan({ CONSISTENCY_DIR: '["/srv"]', CONSISTENCY_TARGET: 'root@target-host:/' });
    expect(p.engine.source).toBe('/');
    expect(p.engine.targetRemote?.target).toMatchObject({ destination: 'root@target-host', path: '/' });
    expect(p.engine.dirs).toEqual([{ dir: '/srv', dirCheck: '/srv' }]);
  });

  it('says each override of a value the task sets, and nothing for one it does not set or one equal to it', () => {
    const { notices, plan: p } = plan(
      {
        CONSISTENCY_DIR: '["/a"]',
        CONSISTENCY_TARGET: '/t',
        CONSISTENCY_RECHECK: 'true',
        CONSISTENCY_MODE: 'quick',
      },
      { recheck: false, metadata: ['uid', 'gid'], mode: 'quick', dirs: ['/b', '/c'] },
    );
    expect(notices).toEqual([
      '--dir /b --dir /c overrides the task\'s CONSISTENCY_DIR ["/a"]',
      "--no-recheck overrides the task's CONSISTENCY_RECHECK true",
    ]);
    expect(p.engine).toMatchObject({ recheck: false, metadata: ['uid', 'gid'] });
  });

  it("says an override that clears the task's excludes (an --exclude-from file with no pattern), not an empty notice", () => {
    const { notices, plan: p } = plan(
      { CONSISTENCY_DIR: '["/a"]', CONSISTENCY_TARGET: '/t', CONSISTENCY_EXCLUDE: '["extra"]' },
      { excludes: [] },
    );
    expect(notices).toEqual([
      '--exclude (none: an --exclude-from file with no pattern) overrides the task\'s CONSISTENCY_EXCLUDE ["extra"]',
    ]);
    expect(p.engine.excludes).toEqual([]);
  });

  it('refuses a value this agent cannot read, naming it, but not one of the keys only the server uses', () => {
    expect(() =>
      plan({ CONSISTENCY_DIR: '["/a"]', CONSISTENCY_TARGET: '/t', CONSISTENCY_MODE: 'sparse' }),
    ).toThrow(/CONSISTENCY_MODE: expected quick or content\): the server is newer than this sms-agent/);
    expect(() =>
      plan({ CONSISTENCY_DIR: '["/a"]', CONSISTENCY_TARGET: '/t', CONSISTENCY_CHECKSUM: 'xxh3' }),
    ).toThrow(/unknown key CONSISTENCY_CHECKSUM/);
    expect(() =>
      plan({ CONSISTENCY_DIR: '["/a"]', CONSISTENCY_TARGET: '/t', CONSISTENCY_SCHEDULE: '@every 5m' }),
    ).not.toThrow();
    // for the server and the daemons' polls: a value this agent cannot read stops no run either
    expect(() =>
      plan({ CONSISTENCY_DIR: '["/a"]', CONSISTENCY_TARGET: '/t', CONSISTENCY_AGENT: 'web-01 ' }),
    ).not.toThrow();
  });

  it('says a stored exclude pattern this agent refuses is to be corrected, and lets --exclude override it', () => {
    const config = {
      CONSISTENCY_DIR: '["/a"]',
      CONSISTENCY_TARGET: '/t',
      CONSISTENCY_EXCLUDE: '["*.log","+ keep"]',
    };
    expect(() => plan(config)).toThrow(
      /its CONSISTENCY_EXCLUDE: "\+ keep": "\+ " is rsync's include rule.*: this agent refuses that pattern; have an admin correct it \(sms-agent config --task .* 'CONSISTENCY_EXCLUDE=\["\*\.log"\]'.*\), or override it with --exclude or --exclude-from$/,
    );
    expect(plan(config, { excludes: ['*.tmp'] }).plan.engine.excludes).toEqual(['*.tmp']);
  });

  it('refuses --ssh for a target on this host', () => {
    const entries = [
      { config_key: 'CONSISTENCY_DIR', config_value: '["/a"]' },
      { config_key: 'CONSISTENCY_TARGET', config_value: '/t' },
    ];
    expect(() =>
      planTaskRun(
        TASK,
        entries,
        parseConfiguration(entries),
        {},
        { ...settings, ssh: 'ssh -p 2222' },
        context,
      ),
    ).toThrow('--ssh is for a target on another host');
  });
});
