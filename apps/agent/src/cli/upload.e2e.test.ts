import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SmsClient } from '@sms/client';
import { createMemoryLogger, loadConfig, type RunningServer, startServer } from '@sms/server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runAgent } from '../test-support/cli.js';
import { treePair } from '../test-support/tree.js';

const PASSWORD = 'e2e-admin-password';
const credentials = { SMS_USERNAME: 'admin', SMS_PASSWORD: PASSWORD, SMS_PROJECT: 'default' };

let dataDir: string;
let server: RunningServer;
async function start(port = 0): Promise<RunningServer> {
  return startServer(
    loadConfig({
      PORT: String(port),
      SMS_DATA_DIR: dataDir,
      SMS_ADMIN_PASSWORD: PASSWORD,
      SMS_LOG_LEVEL: 'silent',
    }),
    createMemoryLogger('error'),
  );
}
const client = () =>
  new SmsClient({
    endpoint: server.url,
    credentials: { user: 'admin', password: PASSWORD, project: 'default' },
  });

const cleanups: (() => void)[] = [];
beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'sms-agent-e2e-'));
  server = await start();
});
afterAll(async () => {
  await server.close().catch(() => {});
  rmSync(dataDir, { recursive: true, force: true });
});
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function workspace() {
  const pair = treePair(
    { data: { a: '1', b: '2' }, var: { log: { x: 'x' } } },
    { data: { a: '1' }, var: { log: { x: 'x' } } },
  );
  const spool = join(pair.dir, 'spool');
  cleanups.push(pair.cleanup);
  return { ...pair, spool };
}

describe('sms-agent against a real server', () => {
  it('verifies, uploads, and the result reads back through the API', async () => {
    const w = workspace();
    const { id } = await client().createTask({ name: 'e2e' });
    const run = await runAgent(
      [
        'verify',
        '--source',
        w.src,
        '--target',
        w.dst,
        '--dir',
        'data',
        '--dir',
        'var',
        '--upload',
        '--task',
        id,
        '--endpoint',
        server.url,
        '--spool-dir',
        w.spool,
      ],
      credentials,
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('uploads: 1 delivered, 0 kept in the spool, 0 refused');
    const { result_list } = await client().showConsistencyResult(id);
    expect(result_list).toHaveLength(1);
    expect(result_list[0]!.check_result).toBe('INCONSISTENT');
    expect(result_list[0]!.consistency_result).toEqual([
      {
        dir_check: join(w.src, 'data'),
        num_total_files: 2,
        num_different_files: 0,
        num_target_miss_files: 1,
        num_target_more_files: 0,
      },
      {
        dir_check: join(w.src, 'var'),
        num_total_files: 1,
        num_different_files: 0,
        num_target_miss_files: 0,
        num_target_more_files: 0,
      },
    ]);
    expect(readdirSync(w.spool).filter((f) => f.endsWith('.json'))).toEqual([]);
  });

  it('uploads a saved --json result with sms-agent upload', async () => {
    const w = workspace();
    const { id } = await client().createTask({ name: 'saved' });
    const saved = await runAgent(['verify', '--source', w.src, '--target', w.dst, '--json']);
    const file = join(w.dir, 'result.json');
    (await import('node:fs')).writeFileSync(file, saved.stdout);
    const run = await runAgent(
      ['upload', '--task', id, file, '--endpoint', server.url, '--spool-dir', w.spool],
      credentials,
    );
    expect(run.code).toBe(0);
    expect((await client().showConsistencyResult(id)).result_list[0]!.consistency_result[0]!.dir_check).toBe(
      w.src,
    );
  });

  it('spools when the server is down, and flush delivers it exactly once', async () => {
    const w = workspace();
    const { id } = await client().createTask({ name: 'spool' });
    const url = server.url;
    const port = server.port;
    await server.close();
    try {
      const down = await runAgent(
        [
          'verify',
          '--source',
          w.src,
          '--target',
          w.dst,
          '--upload',
          '--task',
          id,
          '--endpoint',
          url,
          '--spool-dir',
          w.spool,
          '--retries',
          '1',
          '--timeout',
          '2000',
        ],
        credentials,
      );
      expect(down.code).toBe(1); // the verdict stands; the upload waits
      expect(down.stderr).toContain('uploads: 0 delivered, 1 kept in the spool, 0 refused');
      expect(down.stderr).toContain('sms-agent flush');
    } finally {
      server = await start(port);
    }
    const spooled = readdirSync(w.spool).filter((f) => f.endsWith('.json'));
    expect(spooled).toHaveLength(1);
    // keep a copy: as if the agent died after the server stored the upload but before it removed the file
    copyFileSync(join(w.spool, spooled[0]!), join(w.dir, 'copy.json'));
    const flush = await runAgent(['flush', '--endpoint', url, '--spool-dir', w.spool], credentials);
    expect(flush.code).toBe(0);
    expect(flush.stderr).toContain('uploads: 1 delivered, 0 kept in the spool, 0 refused');
    copyFileSync(join(w.dir, 'copy.json'), join(w.spool, spooled[0]!));
    const again = await runAgent(['flush', '--endpoint', url, '--spool-dir', w.spool], credentials);
    expect(again.code).toBe(0);
    expect((await client().showConsistencyResult(id)).result_list).toHaveLength(1);
    const empty = await runAgent(['flush', '--endpoint', url, '--spool-dir', w.spool], credentials);
    expect(empty.stderr).toBe(`nothing to deliver in ${w.spool}\n`);
  });

  it.each([
    ['answers 503', 'unavailable'],
    ['is slower than the timeout', 'slow'],
  ] as const)(
    'retries when the server %s, then keeps the upload; flush delivers it once',
    async (_what, behaviour) => {
      const w = workspace();
      const { id } = await client().createTask({ name: `fault-${behaviour}` });
      const { createServer } = await import('node:http');
      let attempts = 0;
      const fake = createServer((req, res) => {
        attempts++;
        req.resume();
        if (behaviour === 'unavailable') {
          res.writeHead(503, { 'content-type': 'application/json' });
          res.end('{"error_code":"SMS.2009","error_msg":"shutting down"}');
        }
        // 'slow': never answer; the agent's timeout ends the attempt
      });
      await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
      const fakeUrl = `http://127.0.0.1:${(fake.address() as { port: number }).port}`;
      try {
        const run = await runAgent(
          [
            'verify',
            '--source',
            w.src,
            '--target',
            w.dst,
            '--upload',
            '--task',
            id,
            '--endpoint',
            fakeUrl,
            '--spool-dir',
            w.spool,
            '--retries',
            '2',
            '--timeout',
            '300',
          ],
          { SMS_TOKEN: 'any-token' },
        );
        expect(run.code).toBe(1); // the verdict stands
        expect(run.stderr).toContain('uploads: 0 delivered, 1 kept in the spool, 0 refused');
        expect(attempts).toBe(3); // the first try and 2 retries
      } finally {
        fake.closeAllConnections();
        await new Promise<void>((resolve) => fake.close(() => resolve()));
      }
      const flush = await runAgent(['flush', '--endpoint', server.url, '--spool-dir', w.spool], credentials);
      expect(flush.code).toBe(0);
      expect((await client().showConsistencyResult(id)).result_list).toHaveLength(1);
    },
  );

  it('splits more than 30 directories into several uploads', async () => {
    const w = workspace();
    const { mkdirSync } = await import('node:fs');
    const dirs = Array.from({ length: 31 }, (_, i) => `d${i}`);
    for (const d of dirs) {
      mkdirSync(join(w.src, d));
      mkdirSync(join(w.dst, d));
    }
    const { id } = await client().createTask({ name: 'many' });
    const run = await runAgent(
      [
        'verify',
        '--source',
        w.src,
        '--target',
        w.dst,
        ...dirs.flatMap((d) => ['--dir', d]),
        '--upload',
        '--task',
        id,
        '--endpoint',
        server.url,
        '--spool-dir',
        w.spool,
      ],
      credentials,
    );
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('uploads: 2 delivered');
    const { result_list } = await client().showConsistencyResult(id);
    expect(result_list.map((e) => e.consistency_result.length).sort()).toEqual([1, 30]);
  });

  it('moves an upload the server refuses for good (unknown task) out of the spool, exit 2 for upload', async () => {
    const w = workspace();
    const saved = join(w.dir, 'r.json');
    (await import('node:fs')).writeFileSync(saved, '{"consistency_result":[]}');
    const run = await runAgent(
      ['upload', '--task', 'no-such-task', saved, '--endpoint', server.url, '--spool-dir', w.spool],
      credentials,
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('refused by the server, moved to');
    expect(run.stderr).toContain('SMS.3001');
    expect(readdirSync(join(w.spool, 'failed')).some((f) => f.endsWith('.reason.txt'))).toBe(true);
  });
});
