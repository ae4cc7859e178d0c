import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SmsApiError, type SmsClient, SmsNetworkError, SmsResponseError } from '@sms/client';
import { type ConsistencyResult, ErrorCodes } from '@sms/domain';
import { afterEach, describe, expect, it } from 'vitest';
import { wrongPassword } from '../test-support/refusals.js';
import { deliver, deliverAll, flushSpool } from './deliver.js';
import { linesFileOf, Spool } from './spool.js';
import { uploadVerification } from './workflow.js';

const TASK = 'task-0001';
const RUN = '7f1c1f3e-4a43-4c4e-9d7c-5d1f0d0e2a11';
const OTHER_RUN = '0b6a9d5e-2f4e-4a7b-8c1d-3e2f1a0b9c8d';
const result = (dir: string): ConsistencyResult => ({
  dir_check: dir,
  num_total_files: 2,
  num_different_files: 0,
  num_target_miss_files: 1,
  num_target_more_files: 0,
});
const line = (dir: string, path: string) => ({
  dir_check: dir,
  category: 'missing',
  path,
  reason: 'not on the target',
});

/**
 * A server as the two upload calls see it: it records what it stored; `findingsError` makes the
 * findings call fail as a client would report a body it could not finish reading.
 */
function fakeClient(behaviour: { findingsError?: 'network' } = {}) {
  const stored: { counts: string[]; findings: string[] } = { counts: [], findings: [] };
  const client = {
    async updateConsistencyResult(_task: string, results: ConsistencyResult[]) {
      stored.counts.push(...results.map((r) => r.dir_check));
      return {};
    },
    async uploadFindings(_task: string, _run: string, findings: AsyncIterable<{ path: string }>) {
      const paths: string[] = [];
      try {
        for await (const f of findings) paths.push(f.path);
      } catch (error) {
        if (behaviour.findingsError === 'network')
          throw new SmsNetworkError('fetch failed: the request body could not be read', { cause: error });
        throw error;
      }
      stored.findings.push(...paths);
      return { stored: paths.length, superseded_dirs: [] };
    },
  };
  return { client: client as unknown as SmsClient, stored };
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function newSpool() {
  const dir = mkdtempSync(join(tmpdir(), 'sms-deliver-'));
  dirs.push(dir);
  return new Spool(join(dir, 'spool'));
}
/** A findings upload of an earlier run, committed to the spool. */
function earlierFindings(spool: Spool) {
  spool.add(TASK, [result('/old')], OTHER_RUN);
  const file = spool.startFindings(TASK, OTHER_RUN);
  file.append(line('/old', 'a'));
  return file.commit()!;
}

/** A spooled counts upload flushed to a server that answers it 404 with this error code, message and body. */
async function countsAnswered404(errorCode: string | undefined, errorMsg: string | undefined, body: unknown) {
  const spool = newSpool();
  spool.add(TASK, [result('/a')], RUN);
  const client = {
    async updateConsistencyResult() {
      throw new SmsApiError({ status: 404, errorCode, errorMsg, requestId: undefined, body });
    },
  } as unknown as SmsClient;
  const { outcomes } = await flushSpool(client, spool);
  return { spool, outcomes };
}

describe('delivering the spool', () => {
  it("a findings upload whose lines are gone is moved to failed/ saying so, and the run's own counts and findings are still delivered", async () => {
    const spool = newSpool();
    const broken = earlierFindings(spool);
    rmSync(linesFileOf(broken.file));
    const { client, stored } = fakeClient();
    const findings = spool.startFindings(TASK, RUN);
    findings.append(line('/data', 'b'));

    const outcome = await uploadVerification(client, spool, TASK, [result('/data')], {
      runId: RUN,
      commitFindings: () => findings.commit(),
    });

    expect(outcome.outcomes.map((o) => o.status)).toEqual(['delivered']);
    expect(outcome.findings?.status).toBe('delivered');
    expect(stored).toEqual({ counts: ['/old', '/data'], findings: ['b'] });
    const refused = outcome.earlier.find((o) => o.file === broken.file);
    expect(refused).toMatchObject({ status: 'refused', local: true });
    expect(refused?.status === 'refused' && refused.reason).toMatch(
      /cannot be sent from the spool: .*ENOENT/,
    );
    expect(spool.list().entries).toEqual([]);
    const failed = spool.listFailed().entries;
    expect(failed.map((f) => f.entry.idempotency_key)).toEqual([broken.entry.idempotency_key]);
    expect(failed[0]!.reason).toMatch(/ENOENT/);
  });

  it('a findings line that is not JSON moves its upload to failed/, also when the client calls the cut body a network error', async () => {
    for (const findingsError of [undefined, 'network'] as const) {
      const spool = newSpool();
      const broken = earlierFindings(spool);
      writeFileSync(linesFileOf(broken.file), `${JSON.stringify(line('/old', 'a'))}\n{"cut`);
      const { client, stored } = fakeClient(findingsError ? { findingsError } : {});

      const { outcomes } = await flushSpool(client, spool);

      expect(outcomes.map((o) => o.status)).toEqual(['delivered', 'refused']);
      expect(outcomes[1]).toMatchObject({
        local: true,
        reason: expect.stringMatching(/line 2 of .* is not JSON/),
      });
      expect(stored.findings).toEqual([]);
      expect(spool.list().entries).toEqual([]);
      // a later flush is not held back by it
      spool.add(TASK, [result('/later')], RUN);
      expect((await flushSpool(client, spool)).outcomes.map((o) => o.status)).toEqual(['delivered']);
    }
  });

  it('an upload another agent on the spool delivered meanwhile is "gone", not an error', async () => {
    const spool = newSpool();
    const counts = spool.add(TASK, [result('/a')], RUN);
    const findings = earlierFindings(spool);
    const listed = spool.list().entries;
    // the other agent: delivered and removed both
    spool.remove(counts.file);
    spool.remove(findings.file);
    const { client, stored } = fakeClient();

    const outcomes = await deliverAll(client, spool, listed);

    expect(
      outcomes.filter((o) => o.file === counts.file || o.file === findings.file).map((o) => o.status),
    ).toEqual(['gone', 'gone']);
    expect(stored.counts).toEqual(['/old']);
  });

  it('an upload another agent on the spool sent and the server refused is "refused" here too, with its reason', async () => {
    const spool = newSpool();
    const counts = spool.add(TASK, [result('/a')], RUN);
    const kept = spool.add(TASK, [result('/b')], RUN);
    const listed = spool.list().entries.filter((e) => e.file === counts.file || e.file === kept.file);
    // the other agent: the server answered 404 (the task was deleted), so it moved the upload to failed/
    const movedTo = spool.fail(counts.file, 'task not found (SMS.3001)');
    const { client, stored } = fakeClient();

    const outcomes = await deliverAll(client, spool, listed);

    const refused = outcomes.find((o) => o.file === counts.file)!;
    expect(refused).toMatchObject({
      status: 'refused',
      movedTo,
      reason: 'task not found (SMS.3001) (sent by another sms-agent using this spool)',
    });
    expect(outcomes.find((o) => o.file === kept.file)?.status).toBe('delivered');
    expect(stored.counts).toEqual(['/b']);
  });

  it("an upload another agent on the spool could not read from it is refused here as local, not as the server's", async () => {
    const spool = newSpool();
    const counts = spool.add(TASK, [result('/a')], RUN);
    const listed = spool.list().entries.filter((e) => e.file === counts.file);
    spool.fail(counts.file, 'it cannot be sent from the spool: line 3 of x.ndjson is not JSON');
    const { client } = fakeClient();
    const [outcome] = await deliverAll(client, spool, listed);
    expect(outcome).toMatchObject({
      status: 'refused',
      local: true,
      reason:
        'it cannot be sent from the spool: line 3 of x.ndjson is not JSON (found by another sms-agent using this spool)',
    });
  });

  it('keeps the server-refused path as it was: moved to failed/ without the local mark', async () => {
    const { spool, outcomes } = await countsAnswered404('SMS.1006', 'task not found', {});
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ status: 'refused' });
    expect(outcomes[0]).not.toHaveProperty('local');
    const moved = readdirSync(join(spool.dir, 'failed')).filter((n) => n.endsWith('.reason.txt'));
    expect(readFileSync(join(spool.dir, 'failed', moved[0]!), 'utf8')).toMatch(/task not found/);
    expect(existsSync(spool.dir)).toBe(true);
  });
});

describe("a 4xx that is not the server's own answer (no error code: a proxy's page)", () => {
  it('keeps the counts in the spool for later, not in failed/ (where a later retry could store them after newer ones)', async () => {
    const { spool, outcomes } = await countsAnswered404(undefined, undefined, '<html>404 Not Found</html>');
    expect(outcomes).toEqual([expect.objectContaining({ status: 'spooled', network: true })]);
    expect(spool.list().entries).toHaveLength(1);
    expect(spool.listFailed().entries).toEqual([]);
  });
});

describe('credentials the server refuses', () => {
  it('are tried for the first upload only: each failed sign-in counts toward the lock-out', async () => {
    const spool = newSpool();
    spool.add(TASK, [result('/a')], RUN);
    spool.add('task-0002', [result('/b')], OTHER_RUN);
    let calls = 0;
    const client = {
      async updateConsistencyResult() {
        calls++;
        throw wrongPassword();
      },
    } as unknown as SmsClient;
    const { outcomes } = await flushSpool(client, spool);
    expect(calls).toBe(1);
    expect(outcomes).toEqual([
      expect.objectContaining({ status: 'spooled', credentials: true }),
      expect.objectContaining({ status: 'spooled', reason: expect.stringMatching(/^not tried: /) }),
    ]);
    expect(spool.list().entries).toHaveLength(2);
  });
});

describe('a server without the findings endpoint', () => {
  const refusing = (status: number, errorCode?: string) => {
    const { client, stored } = fakeClient();
    (client as unknown as { uploadFindings: () => Promise<never> }).uploadFindings = async () => {
      throw new SmsApiError({
        status,
        errorCode,
        errorMsg: errorCode ? 'no such API' : undefined,
        requestId: undefined,
        body: errorCode ? { error_code: errorCode } : '<html>404 Not Found</html>',
      });
    };
    return { client, stored };
  };

  it('drops the findings (the counts are what the API keeps) on a 405, or on a 404 in its error format', async () => {
    for (const [status, code] of [
      [405, 'SMS.1009'],
      [404, 'APIG.0101'],
    ] as const) {
      const spool = newSpool();
      const findings = earlierFindings(spool);
      const { client, stored } = refusing(status, code);
      const { outcomes } = await flushSpool(client, spool);
      expect(outcomes.map((o) => o.status)).toEqual(['delivered', 'skipped']);
      expect(stored.counts).toEqual(['/old']);
      expect(existsSync(findings.file)).toBe(false);
      expect(spool.listFailed().entries).toEqual([]);
    }
  });

  it("keeps them, moved to failed/ to be retried, on a 404 that is not the server's own (a proxy's page)", async () => {
    const spool = newSpool();
    const findings = earlierFindings(spool);
    const { client } = refusing(404);
    const { outcomes } = await flushSpool(client, spool);
    expect(outcomes.map((o) => o.status)).toEqual(['delivered', 'refused']);
    expect(spool.listFailed().entries.map((e) => e.entry.idempotency_key)).toEqual([
      findings.entry.idempotency_key,
    ]);
  });
});

describe('the order uploads are stored in', () => {
  it("keeps an answer that is not the API's (a captive portal) for later: nothing moved to failed/, the rest not tried", async () => {
    const spool = newSpool();
    spool.add(TASK, [result('/old')], OTHER_RUN);
    const client = {
      async updateConsistencyResult() {
        throw new SmsResponseError("the server's answer (200) does not match the API", {
          status: 200,
          body: '<html>sign in to the Wi-Fi</html>',
          issues: [],
        });
      },
    } as unknown as SmsClient;
    const outcome = await uploadVerification(client, spool, TASK, [result('/data')], { runId: RUN });
    expect(outcome.earlier.map((o) => o.status)).toEqual(['spooled']);
    expect(outcome.outcomes).toEqual([
      expect.objectContaining({
        status: 'spooled',
        reason: expect.stringMatching(/^not tried: the server's answer/),
      }),
    ]);
    expect(spool.list().entries).toHaveLength(2);
    expect(spool.listFailed().entries).toEqual([]);
  });

  describe('a findings upload whose key the server is still storing (503 SMS.2010)', () => {
    type Answer = 'storing' | 'other 5xx' | 'network' | 'too many';
    /**
     * A server that answers findings calls as `answers` says, in turn (`storing`: 503 SMS.2010 with
     * Retry-After `retryAfterMs`), then takes the upload; `slowFirstMs`: the first call takes that long.
     */
    function server(answers: Answer[], retryAfterMs: number | undefined, slowFirstMs = 0) {
      const calls: number[] = [];
      const client = {
        async uploadFindings(_task: string, _run: string, findings: AsyncIterable<unknown>) {
          calls.push(performance.now());
          if (calls.length === 1 && slowFirstMs > 0) await new Promise((r) => setTimeout(r, slowFirstMs));
          const answer = answers[calls.length - 1];
          if (answer === 'network')
            throw new SmsNetworkError('fetch failed: other side closed', { cause: undefined });
          if (answer === 'too many')
            throw new SmsApiError({
              status: 429,
              errorCode: 'SMS.9005',
              errorMsg: 'too many requests',
              requestId: undefined,
              body: {},
              retryAfterMs,
            });
          if (answer !== undefined)
            throw new SmsApiError({
              status: 503,
              errorCode: answer === 'storing' ? ErrorCodes.UploadInProgress.code : 'SMS.1000',
              errorMsg: 'busy',
              requestId: undefined,
              body: {},
              retryAfterMs: answer === 'storing' ? retryAfterMs : undefined,
            });
          let stored = 0;
          for await (const _ of findings) stored++;
          return { stored, superseded_dirs: [] };
        },
      } as unknown as SmsClient;
      return { client, calls };
    }
    const always = (answer: Answer) => Array<Answer>(1000).fill(answer);
    function spooledFindings() {
      const spool = newSpool();
      return { spool, ...earlierFindings(spool) };
    }
    const gaps = (calls: number[]) => calls.slice(1).map((at, i) => at - calls[i]!);

    it('is sent again past the 3 attempts of other errors, after the Retry-After the server asks, and delivered once, saying so once', async () => {
      const { spool, file, entry } = spooledFindings();
      const busy = server(always('storing').slice(0, 5), 600);
      const notes: string[] = [];
      const outcome = await deliver(busy.client, spool, file, entry, undefined, {
        inProgressMs: 10_000,
        onWait: (note) => notes.push(note),
      });
      expect(outcome.status).toBe('delivered');
      expect(busy.calls).toHaveLength(6);
      // never sooner than asked (the 500 ms, 1 s... of other errors)
      for (const gap of gaps(busy.calls)) expect(gap).toBeGreaterThanOrEqual(590);
      expect(notes).toEqual([
        `the server is still storing an earlier attempt of findings upload ${entry.idempotency_key} (503 SMS.2010: busy); sending it again every 0.6 s for up to 10 s`,
      ]);
    }, 15_000);

    it('is left in the spool once the server has been storing it for longer than the patience given, counted from its first such answer', async () => {
      const { spool, file, entry } = spooledFindings();
      // the first attempt streams for 1 s and its answer is lost: the server stores it meanwhile
      const busy = server(['network', ...always('storing')], 500, 1000);
      const outcome = await deliver(busy.client, spool, file, entry, undefined, { inProgressMs: 1_200 });
      expect(outcome).toMatchObject({ status: 'spooled', reason: expect.stringContaining('SMS.2010') });
      // the lost one, then at 0, 0.5 and 1 s from the first 503: the next would be past the 1.2 s given
      expect(busy.calls).toHaveLength(4);
      expect(spool.list().entries.map((e) => e.file)).toContain(file);
    });

    it('is sent again after a 429, as late as its Retry-After asks, and delivered', async () => {
      const { spool, file, entry } = spooledFindings();
      const limited = server(['too many'], 700);
      const outcome = await deliver(limited.client, spool, file, entry);
      expect(outcome.status).toBe('delivered');
      expect(limited.calls).toHaveLength(2);
      expect(gaps(limited.calls)[0]).toBeGreaterThanOrEqual(690);
    });

    it('is left in the spool at once when its Retry-After asks for longer than is waited (a sign-in lockout)', async () => {
      const { spool, file, entry } = spooledFindings();
      const locked = server(always('too many'), 900_000);
      const started = Date.now();
      const outcome = await deliver(locked.client, spool, file, entry);
      expect(outcome.status).toBe('spooled');
      expect(locked.calls).toHaveLength(1);
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('never in a tight loop: a Retry-After of 0 (or none) waits 0.5 s', async () => {
      const { spool, file, entry } = spooledFindings();
      const busy = server(always('storing').slice(0, 3), 0);
      expect(
        (await deliver(busy.client, spool, file, entry, undefined, { inProgressMs: 5_000 })).status,
      ).toBe('delivered');
      for (const gap of gaps(busy.calls)) expect(gap).toBeGreaterThanOrEqual(490);
    });

    it("keeps the other errors' 3 attempts apart: a cut connection among the 503s does not end it", async () => {
      const { spool, file, entry } = spooledFindings();
      const busy = server(['storing', 'storing', 'storing', 'network', 'storing'], 0);
      const outcome = await deliver(busy.client, spool, file, entry, undefined, { inProgressMs: 10_000 });
      expect(outcome.status).toBe('delivered');
      expect(busy.calls).toHaveLength(6);
    }, 15_000);

    it('another 5xx is still tried 3 times', async () => {
      const { spool, file, entry } = spooledFindings();
      const busy = server(always('other 5xx'), undefined);
      const outcome = await deliver(busy.client, spool, file, entry, undefined, { inProgressMs: 10_000 });
      expect(outcome.status).toBe('spooled');
      expect(busy.calls).toHaveLength(3);
    });
  });

  it("holds a task's later counts while an earlier upload of it waits (a 503), and sends other tasks'", async () => {
    const spool = newSpool();
    spool.add(TASK, [result('/old')], OTHER_RUN);
    spool.add('task-0002', [result('/other')]);
    const sent: string[] = [];
    let first = true;
    const client = {
      async updateConsistencyResult(task: string, results: ConsistencyResult[]) {
        if (task === TASK && first) {
          first = false;
          throw new SmsApiError({
            status: 503,
            errorCode: 'SMS.2010',
            errorMsg: 'busy',
            requestId: undefined,
            body: {},
          });
        }
        sent.push(`${task}${results[0]!.dir_check}`);
        return {};
      },
    } as unknown as SmsClient;
    const outcome = await uploadVerification(client, spool, TASK, [result('/old')], { runId: RUN });
    // (two uploads spooled in one millisecond are ordered by their keys: look by task)
    expect(outcome.earlier.map((o) => `${o.entry.task_id} ${o.status}`).sort()).toEqual([
      'task-0001 spooled',
      'task-0002 delivered',
    ]);
    expect(outcome.outcomes).toEqual([
      expect.objectContaining({
        status: 'spooled',
        reason: expect.stringMatching(/^not sent: an earlier upload of task task-0001 waits in the spool/),
      }),
    ]);
    expect(sent).toEqual(['task-0002/other']);
    // the next flush stores them oldest first
    await flushSpool(client, spool);
    expect(sent).toEqual(['task-0002/other', 'task-0001/old', 'task-0001/old']);
    const { entries } = spool.list();
    expect(entries).toEqual([]);
  });

  it("sends the earlier uploads before the run's own even when the clock was stepped back (names sort the other way)", async () => {
    const spool = newSpool();
    const earlier = spool.add(TASK, [result('/from-the-future')], OTHER_RUN);
    // written when the clock was ahead: its name sorts after anything written now
    renameSync(earlier.file, join(spool.dir, `9999999999999-${earlier.entry.idempotency_key}.json`));
    const { client, stored } = fakeClient();
    await uploadVerification(client, spool, TASK, [result('/now')], { runId: RUN });
    expect(stored.counts).toEqual(['/from-the-future', '/now']);
  });
});
