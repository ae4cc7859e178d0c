import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runAgent } from '../test-support/cli.js';
import { ADMIN_ENV, serverForTests } from '../test-support/server.js';
import { treePair } from '../test-support/tree.js';

const held = serverForTests();
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A source server's / and its copy: /root/data lost b, /var/log matches. */
function workspace() {
  const pair = treePair(
    { root: { data: { a: '1', b: '2' } }, var: { log: { x: 'x' } } },
    { root: { data: { a: '1' } }, var: { log: { x: 'x' } } },
  );
  cleanups.push(pair.cleanup);
  return { ...pair, spool: join(pair.dir, 'spool') };
}

async function configuredTask(name: string, entries: Record<string, string>) {
  const { id } = await held.admin.createTask({ name });
  const list = Object.entries(entries).map(([config_key, config_value]) => ({ config_key, config_value }));
  if (list.length > 0) await held.admin.updateConfiguration(id, list);
  return id;
}

const run = (w: ReturnType<typeof workspace>, task: string, extra: string[] = []) =>
  runAgent(
    ['run', '--task', task, '--endpoint', held.server.url, '--spool-dir', w.spool, ...extra],
    ADMIN_ENV,
  );

describe('sms-agent run against a real server', () => {
  it("verifies the task's configured directories and uploads counts equal to a local verify, each named as configured", async () => {
    const w = workspace();
    const id = await configuredTask('run', {
      CONSISTENCY_DIR: '["/root/data","/var/log"]',
      CONSISTENCY_SOURCE: w.src,
      CONSISTENCY_TARGET: w.dst,
      CONSISTENCY_MODE: 'content',
    });
    const ran = await run(w, id);
    expect(ran.code, ran.stderr).toBe(1);
    expect(ran.stderr).toContain('uploads: 1 delivered, 0 spooled, 0 refused');
    expect(ran.stderr).not.toContain('notice:');
    const local = await runAgent([
      'verify',
      '--source',
      w.src,
      '--target',
      w.dst,
      '--dir',
      'root/data',
      '--dir',
      'var/log',
      '--mode',
      'content',
      '--json',
    ]);
    const counts = (
      JSON.parse(local.stdout) as { consistency_result: { dir_check: string }[] }
    ).consistency_result.map(({ dir_check, ...rest }) => rest);
    const { result_list } = await held.admin.showConsistencyResult(id);
    expect(result_list).toHaveLength(1);
    expect(result_list[0]!.consistency_result.map((r) => r.dir_check)).toEqual(['/root/data', '/var/log']);
    expect(result_list[0]!.consistency_result.map(({ dir_check, ...rest }) => rest)).toEqual(counts);
    const { findings } = await held.admin.listFindings(id);
    expect(findings.map((f) => [f.dir_check, f.category, f.path])).toEqual([['/root/data', 'missing', 'b']]);
  });

  it('lets the command line override the configuration and says each override', async () => {
    const w = workspace();
    const id = await configuredTask('override', {
      CONSISTENCY_DIR: '["/root/data"]',
      CONSISTENCY_SOURCE: w.src,
      CONSISTENCY_TARGET: '/nonexistent',
      CONSISTENCY_MODE: 'quick',
    });
    const ran = await run(w, id, ['--mode', 'content', '--target', w.dst, '--dir', '/var/log', '--json']);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stderr).toContain("notice: --mode content overrides the task's CONSISTENCY_MODE quick");
    expect(ran.stderr).toContain(
      `notice: --target ${w.dst} overrides the task's CONSISTENCY_TARGET /nonexistent`,
    );
    expect(ran.stderr).toContain(
      'notice: --dir /var/log overrides the task\'s CONSISTENCY_DIR ["/root/data"]',
    );
    const document = JSON.parse(ran.stdout) as { mode: string; consistency_result: { dir_check: string }[] };
    expect(document.mode).toBe('content');
    expect(document.consistency_result.map((r) => r.dir_check)).toEqual(['/var/log']);
  });

  it('exits 2 naming CONSISTENCY_DIR, then CONSISTENCY_TARGET, with the command that sets it, when the task lacks them', async () => {
    const w = workspace();
    const id = await configuredTask('empty', {});
    const noDir = await run(w, id);
    expect(noDir.code).toBe(2);
    expect(noDir.stderr).toContain(`task ${id} sets no CONSISTENCY_DIR and no --dir was given`);
    expect(noDir.stderr).toContain(`sms-agent config --task ${id} 'CONSISTENCY_DIR=["/root/data"]'`);
    const noTarget = await run(w, id, ['--dir', '/root/data']);
    expect(noTarget.code).toBe(2);
    expect(noTarget.stderr).toContain('sets no CONSISTENCY_TARGET and no --target was given');
    expect(noTarget.stderr).toContain(`sms-agent config --task ${id} 'CONSISTENCY_TARGET=`);
    const relative = await run(w, id, ['--dir', 'root/data']);
    expect(relative.code).toBe(2);
    expect(relative.stderr).toContain('--dir root/data: give the directory as the task names it, absolute');
    expect(await held.admin.showConsistencyResult(id)).toMatchObject({ result_list: [] });
  });

  it('sets and shows the configuration with sms-agent config, refusing a bad value naming its key', async () => {
    const w = workspace();
    const id = await configuredTask('config', {});
    const set = await runAgent(
      [
        'config',
        '--task',
        id,
        '--endpoint',
        held.server.url,
        'CONSISTENCY_DIR=["/root/data"]',
        `CONSISTENCY_TARGET=${w.dst}`,
      ],
      ADMIN_ENV,
    );
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toBe(`CONSISTENCY_DIR=["/root/data"]\nCONSISTENCY_TARGET=${w.dst}\n`);
    const bad = await runAgent(
      ['config', '--task', id, '--endpoint', held.server.url, 'CONSISTENCY_MODE=fast'],
      ADMIN_ENV,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('CONSISTENCY_MODE: expected quick or content');
    expect(bad.stderr).toContain('nothing set');
  });
});
