import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryLogger } from '../logger.js';
import { createTestApp, result, type TestApp } from '../testing/app.js';
import { VERDICT_HOLD_MS, WebhookService, webhookSignature } from './webhook-service.js';

/** A receiver on 127.0.0.1: what it got, and the status it answers. */
async function receiver(port = 0) {
  const got: { headers: IncomingHttpHeaders; body: string }[] = [];
  let status = 204;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    got,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    port: (server.address() as AddressInfo).port,
    answer: (code: number) => {
      status = code;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const bad = {
  num_total_files: 10,
  num_different_files: 1,
  num_target_miss_files: 0,
  num_target_more_files: 0,
};
const good = {
  num_total_files: 10,
  num_different_files: 0,
  num_target_miss_files: 0,
  num_target_more_files: 0,
};

describe.each(['sqlite', 'postgres'] as const)('webhooks on %s', (dialect) => {
  let t: TestApp;
  let projectId: string;
  const closers: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    // tokens outlive the hours these tests move the clock by
    t = await createTestApp({ dialect, clock: 'running', tokenTtlSeconds: 30 * 24 * 3600 });
    projectId = (await t.storage.accounts.findProject({ name: 'default' }))!.id;
  });
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    for (const hook of await t.storage.webhooks.list()) await t.storage.webhooks.delete(hook.id);
  });
  afterAll(() => t.close());
  /** The task's uploads pause: its verdict change is due (it waits for the next ones first). */
  const settle = () => t.advanceClock(VERDICT_HOLD_MS);

  it('posts a signed event when a task turns inconsistent and when it turns consistent, none when nothing changes', async () => {
    const r = await receiver();
    closers.push(r.close);
    const { secret } = await t.services.webhooks.add(projectId, r.url);
    const taskId = await t.createTask(t.adminToken, `hooked-${dialect}`);
    await t.upload(taskId, { consistency_result: [result('/d', bad)] });
    settle();
    expect(await t.services.webhooks.deliverDue()).toBe(1);
    expect(r.got).toHaveLength(1);
    const [first] = r.got;
    expect(first!.headers['x-sms-signature']).toBe(webhookSignature(secret, first!.body));
    expect(first!.headers['content-type']).toBe('application/json');
    const event = JSON.parse(first!.body);
    expect(event).toMatchObject({
      type: 'verdict.changed',
      task_id: taskId,
      task_name: `hooked-${dialect}`,
      previous_verdict: 'never',
      verdict: 'inconsistent',
      totals: { dir_count: 1, inconsistent_dirs: 1, num_total_files: 10, num_different_files: 1 },
    });
    expect(first!.headers['x-sms-event-id']).toBe(event.event_id);
    expect(Number(first!.headers['x-sms-timestamp'])).toBeGreaterThan(0);
    expect(Date.parse(event.sent_at)).toBeGreaterThan(0);
    // the same verdict again: no event
    await t.upload(taskId, { consistency_result: [result('/d', bad)] });
    settle();
    expect(await t.services.webhooks.deliverDue()).toBe(0);
    await t.upload(taskId, { consistency_result: [result('/d', good)] });
    settle();
    expect(await t.services.webhooks.deliverDue()).toBe(1);
    expect(JSON.parse(r.got[1]!.body)).toMatchObject({
      previous_verdict: 'inconsistent',
      verdict: 'consistent',
    });
    // a body signed with another secret does not verify
    expect(webhookSignature('another secret', first!.body)).not.toBe(first!.headers['x-sms-signature']);
  });

  it("sends a run's verdict once its uploads have paused: changes in between are one event, or none when they come back", async () => {
    const r = await receiver();
    closers.push(r.close);
    await t.services.webhooks.add(projectId, r.url);
    const taskId = await t.createTask(t.adminToken, `run-of-uploads-${dialect}`);
    // a run of two uploads: the first leaves the new task consistent, the second inconsistent
    await t.upload(taskId, { consistency_result: [result('/a', good)] });
    expect(await t.services.webhooks.deliverDue()).toBe(0);
    t.advanceClock(VERDICT_HOLD_MS - 2000);
    await t.upload(taskId, { consistency_result: [result('/b', bad)] });
    // the first is old enough, but the task's uploads went on: it waits for the last
    t.advanceClock(2000);
    expect(await t.services.webhooks.deliverDue()).toBe(0);
    settle();
    expect(await t.services.webhooks.deliverDue()).toBe(1);
    expect(r.got).toHaveLength(1);
    expect(JSON.parse(r.got[0]!.body)).toMatchObject({
      task_id: taskId,
      previous_verdict: 'never',
      verdict: 'inconsistent',
      totals: { dir_count: 2, inconsistent_dirs: 1 },
    });
    // a run that fixes /b and breaks /a: consistent, then inconsistent again: nothing to tell
    await t.upload(taskId, { consistency_result: [result('/b', good)] });
    await t.upload(taskId, { consistency_result: [result('/a', bad)] });
    settle();
    expect(await t.services.webhooks.deliverDue()).toBe(0);
    t.advanceClock(3_600_000);
    expect(await t.services.webhooks.deliverDue()).toBe(0);
    expect(r.got).toHaveLength(1);
    const rows = (await t.storage.webhooks.recent(projectId, 10)).filter((row) => row.url === r.url);
    expect(rows.map((row) => row.state)).toEqual(['superseded', 'superseded', 'delivered', 'superseded']);
  });

  it('does not merge a change its receiver may have seen (attempted): the next is sent on its own, the attempted one not again', async () => {
    const r = await receiver();
    closers.push(r.close);
    await t.services.webhooks.add(projectId, r.url);
    const taskId = await t.createTask(t.adminToken, `attempted-${dialect}`);
    await t.upload(taskId, { consistency_result: [result('/d', bad)] });
    settle();
    // answered 502 (a proxy whose upstream may have taken it)
    r.answer(502);
    expect(await t.services.webhooks.deliverDue()).toBe(0);
    r.answer(204);
    await t.upload(taskId, { consistency_result: [result('/d', good)] });
    settle();
    expect(await t.services.webhooks.deliverDue()).toBe(1);
    t.advanceClock(3_600_000);
    expect(await t.services.webhooks.deliverDue()).toBe(0);
    // the later change says where the verdict is, from where the first left it; the first is not
    // posted after it (the receiver would end on a verdict that is not the task's)
    expect(r.got.map((g) => JSON.parse(g.body))).toMatchObject([
      { previous_verdict: 'never', verdict: 'inconsistent' },
      { previous_verdict: 'inconsistent', verdict: 'consistent' },
    ]);
    const rows = (await t.storage.webhooks.recent(projectId, 10)).filter((row) => row.url === r.url);
    expect(rows.map((row) => row.state)).toEqual(['delivered', 'superseded']);
  });

  it('sends a task whose verdict keeps changing at the latest 5 minutes after its first change', async () => {
    const r = await receiver();
    closers.push(r.close);
    await t.services.webhooks.add(projectId, r.url);
    const taskId = await t.createTask(t.adminToken, `flapping-${dialect}`);
    let sent = 0;
    // a change every 8 s (never 10 s without one) for 6 minutes
    for (let i = 0; i < 45; i++) {
      await t.upload(taskId, { consistency_result: [result('/d', i % 2 === 0 ? bad : good)] });
      t.advanceClock(8000);
      sent += await t.services.webhooks.deliverDue();
    }
    expect(sent).toBeGreaterThanOrEqual(1);
    expect(r.got.length).toBe(sent);
  });

  it('keeps a cut attempt from being merged away: the receiver may have it', async () => {
    const r = await receiver();
    closers.push(r.close);
    await t.services.webhooks.add(projectId, r.url);
    const taskId = await t.createTask(t.adminToken, `cut-${dialect}`);
    await t.upload(taskId, { consistency_result: [result('/d', good)] });
    settle();
    expect(await t.services.webhooks.deliverDue()).toBe(1);
    // consistent → inconsistent taken for an attempt, which a crash cut (no answer recorded)
    await t.upload(taskId, { consistency_result: [result('/d', bad)] });
    settle();
    const [cut] = (await t.storage.webhooks.due(t.services.clock!(), 100)).filter((e) => e.url === r.url);
    expect(
      await t.storage.webhooks.takeForAttempt(cut!.id, cut!.next_attempt_at, t.services.clock!() + 60_000),
    ).toBeDefined();
    // back to consistent: not merged into "nothing changed", which would leave the receiver on inconsistent
    await t.upload(taskId, { consistency_result: [result('/d', good)] });
    settle();
    t.advanceClock(61_000);
    expect(await t.services.webhooks.deliverDue()).toBe(1);
    expect(JSON.parse(r.got.at(-1)!.body)).toMatchObject({
      previous_verdict: 'inconsistent',
      verdict: 'consistent',
    });
  });

  it('sends the change a receiver may have missed when the changes after it come back to where they began', async () => {
    const r = await receiver();
    closers.push(r.close);
    await t.services.webhooks.add(projectId, r.url);
    const taskId = await t.createTask(t.adminToken, `unsure-${dialect}`);
    await t.upload(taskId, { consistency_result: [result('/d', good)] });
    settle();
    expect(await t.services.webhooks.deliverDue()).toBe(1);
    // consistent → inconsistent: answered 500 (the receiver stays on consistent)
    await t.upload(taskId, { consistency_result: [result('/d', bad)] });
    settle();
    r.answer(500);
    expect(await t.services.webhooks.deliverDue()).toBe(0);
    // then back to consistent and to inconsistent again, within the hold
    r.answer(204);
    await t.upload(taskId, { consistency_result: [result('/d', good)] });
    await t.upload(taskId, { consistency_result: [result('/d', bad)] });
    settle();
    expect(await t.services.webhooks.deliverDue()).toBe(1);
    t.advanceClock(3_600_000);
    expect(await t.services.webhooks.deliverDue()).toBe(0);
    const last = JSON.parse(r.got.at(-1)!.body);
    expect(last).toMatchObject({ previous_verdict: 'consistent', verdict: 'inconsistent' });
    expect(Object.keys(last)).not.toContain('unconfirmed_previous_verdict');
  });

  it("takes at most a few due events of one webhook a pass, leaving room for the others' (in SQL)", async () => {
    const busy = await t.services.webhooks.add(projectId, 'http://127.0.0.1:9/busy');
    for (let i = 0; i < 5; i++) {
      const taskId = await t.createTask(t.adminToken, `busy-${i}-${dialect}`);
      await t.upload(taskId, { consistency_result: [result('/d', bad)] });
      t.advanceClock(1);
    }
    const other = await t.services.webhooks.add(projectId, 'http://127.0.0.1:9/other');
    const late = await t.createTask(t.adminToken, `other-${dialect}`);
    await t.upload(late, { consistency_result: [result('/d', bad)] });
    settle();
    const due = await t.storage.webhooks.due(t.services.clock!(), 4, undefined, 2);
    const of = (id: string) => due.filter((e) => e.webhook_id === id).length;
    expect([of(busy.id), of(other.id)]).toEqual([2, 1]);
  });

  it('keeps delivering the other events of a receiver that refuses one (an answer, not a receiver away)', async () => {
    const got: string[] = [];
    const picky = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (c: string) => (body += c));
      req.on('end', () => {
        const { task_name } = JSON.parse(body) as { task_name: string };
        got.push(task_name);
        res.writeHead(task_name.startsWith('refused') ? 400 : 204).end();
      });
    });
    await new Promise<void>((resolve) => picky.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => picky.close(() => resolve())));
    await t.services.webhooks.add(
      projectId,
      `http://127.0.0.1:${(picky.address() as AddressInfo).port}/picky`,
    );
    for (const name of [`refused-${dialect}`, `taken-${dialect}`]) {
      const taskId = await t.createTask(t.adminToken, name);
      await t.upload(taskId, { consistency_result: [result('/d', bad)] });
    }
    settle();
    expect(await t.services.webhooks.deliverDue()).toBe(1);
    expect(got).toEqual([`refused-${dialect}`, `taken-${dialect}`]);
  });

  it('keeps an event while the receiver is down or refuses it, and delivers it once when it is back', async () => {
    const r = await receiver();
    const port = r.port;
    await r.close();
    await t.services.webhooks.add(projectId, `http://127.0.0.1:${port}/hook`);
    const taskId = await t.createTask(t.adminToken, `down-${dialect}`);
    await t.upload(taskId, { consistency_result: [result('/d', bad)] });
    settle();
    expect(await t.services.webhooks.deliverDue()).toBe(0);
    const [pending] = await t.storage.webhooks.recent(projectId, 1);
    expect(pending).toMatchObject({ state: 'pending', attempts: 1 });
    // coarse on the row the project's admins read (no address, port state or error code)
    expect(pending!.last_error).toBe(
      "could not reach the receiver or read its answer; the server's log says why",
    );
    // back, but answering 500 first
    const back = await receiver(port);
    closers.push(back.close);
    back.answer(500);
    t.advanceClock(6000);
    expect(await t.services.webhooks.deliverDue()).toBe(0);
    expect((await t.storage.webhooks.recent(projectId, 1))[0]).toMatchObject({
      attempts: 2,
      last_status: 500,
    });
    back.answer(200);
    t.advanceClock(11_000);
    expect(await t.services.webhooks.deliverDue()).toBe(1);
    t.advanceClock(3_600_000);
    expect(await t.services.webhooks.deliverDue()).toBe(0);
    expect(
      back.got.filter((g) => g.headers['x-sms-event-id'] === back.got[0]!.headers['x-sms-event-id']),
    ).toHaveLength(2);
    expect((await t.storage.webhooks.recent(projectId, 1))[0]).toMatchObject({
      state: 'delivered',
      attempts: 3,
    });
  });

  it('posts an event when a verification request fails', async () => {
    const r = await receiver();
    closers.push(r.close);
    await t.services.webhooks.add(projectId, r.url);
    const taskId = await t.createTask(t.adminToken, `failing-${dialect}`);
    const agent = await t.userWithToken(`hook-agent-${dialect}`, 'agent');
    const asked = await t.request(`/v3/tasks/${taskId}/consistency-check`, {
      method: 'POST',
      headers: { 'x-auth-token': t.adminToken },
    });
    const { id } = (await asked.json()) as { id: string };
    const claim = await t.request(`/v3/consistency-checks/${id}/claim`, {
      method: 'POST',
      headers: { 'x-auth-token': agent.token, 'content-type': 'application/json' },
      body: JSON.stringify({ lease_seconds: 60, agent: 'web-01' }),
    });
    const { lease_id } = (await claim.json()) as { lease_id: string };
    await t.request(`/v3/consistency-checks/${id}/finish`, {
      method: 'POST',
      headers: { 'x-auth-token': agent.token, 'content-type': 'application/json' },
      body: JSON.stringify({ lease_id, state: 'failed', error: 'CONSISTENCY_TARGET is not set' }),
    });
    expect(await t.services.webhooks.deliverDue()).toBe(1);
    expect(JSON.parse(r.got[0]!.body)).toMatchObject({
      type: 'request.failed',
      task_id: taskId,
      request_id: id,
      error: 'CONSISTENCY_TARGET is not set',
    });
  });

  it('records an event once when the receiver answers too late and gets it again', async () => {
    let calls = 0;
    const slow = createServer((req, res) => {
      calls++;
      req.resume();
      // the first answer comes after the attempt gave up; the second in time
      setTimeout(() => res.writeHead(200).end(), calls === 1 ? 400 : 0);
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => slow.close(() => resolve())));
    const impatient = new WebhookService(t.storage.webhooks, t.services.auth, Buffer.alloc(32, 7), {
      clock: t.services.clock!,
      attemptTimeoutMs: 100,
    });
    await impatient.add(projectId, `http://127.0.0.1:${(slow.address() as AddressInfo).port}/late`);
    const taskId = await t.createTask(t.adminToken, `late-${dialect}`);
    await t.upload(taskId, { consistency_result: [result('/d', bad)] });
    settle();
    expect(await impatient.deliverDue()).toBe(0);
    expect((await t.storage.webhooks.recent(projectId, 1))[0]!.last_error).toBe('no answer within 0.1 s');
    t.advanceClock(6000);
    expect(await impatient.deliverDue()).toBe(1);
    expect(calls).toBe(2);
    const rows = await t.storage.webhooks.recent(projectId, 10);
    const mine = rows.filter((r) => r.url.endsWith('/late'));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ state: 'delivered', attempts: 2 });
  });

  it("delivers other webhooks' events beside a receiver that never answers, which is tried once a pass", async () => {
    let silentCalls = 0;
    const silent = createServer((req) => {
      silentCalls++;
      req.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          silent.closeAllConnections();
          silent.close(() => resolve());
        }),
    );
    const r = await receiver();
    closers.push(r.close);
    const hooks = new WebhookService(t.storage.webhooks, t.services.auth, Buffer.alloc(32, 7), {
      clock: t.services.clock!,
      attemptTimeoutMs: 200,
    });
    await hooks.add(projectId, `http://127.0.0.1:${(silent.address() as AddressInfo).port}/silent`);
    await hooks.add(projectId, r.url);
    for (let i = 0; i < 3; i++) {
      const taskId = await t.createTask(t.adminToken, `beside-silent-${i}-${dialect}`);
      await t.upload(taskId, { consistency_result: [result('/d', bad)] });
      settle();
    }
    // the working receiver gets its three; the silent one is tried once, and its other two events
    // wait for that attempt's next time (not three attempts of 10 s each in a row)
    expect(await hooks.deliverDue()).toBe(3);
    expect(r.got).toHaveLength(3);
    expect(silentCalls).toBe(1);
    const rows = (await t.storage.webhooks.recent(projectId, 10)).filter((row) =>
      row.url.endsWith('/silent'),
    );
    expect(rows.map((row) => row.attempts).sort()).toEqual([0, 0, 1]);
    expect(rows.every((row) => row.state === 'pending' && row.next_attempt_at > t.services.clock!())).toBe(
      true,
    );
  });

  it("logs a failed delivery with the receiver's origin only, never the secret in its path or query", async () => {
    const r = await receiver();
    closers.push(r.close);
    r.answer(500);
    const logger = createMemoryLogger('warn');
    const hooks = new WebhookService(t.storage.webhooks, t.services.auth, Buffer.alloc(32, 7), {
      clock: t.services.clock!,
      logger,
    });
    // a user and password in the URL (shown on the dashboard, in logs): refused when added
    await expect(hooks.add(projectId, `http://user:pa55@127.0.0.1:${r.port}/hook`)).rejects.toThrow(
      /a user name or password in the URL/,
    );
    const secretUrl = `http://127.0.0.1:${r.port}/services/T0/B0/s3cr3t?token=abc`;
    await hooks.add(projectId, secretUrl);
    const taskId = await t.createTask(t.adminToken, `logged-${dialect}`);
    await t.upload(taskId, { consistency_result: [result('/d', bad)] });
    settle();
    expect(await hooks.deliverDue()).toBe(0);
    const logged = logger.lines.join('\n');
    expect(logged).toContain('webhook delivery failed');
    expect(logged).toContain(`http://127.0.0.1:${r.port}`);
    for (const secret of ['s3cr3t', 'token=abc']) expect(logged).not.toContain(secret);
  });

  it('cuts the attempt in flight when the server stops, and posts the event again after the minute it was taken for', async () => {
    let calls = 0;
    const silent = createServer((req, res) => {
      calls++;
      req.resume();
      if (calls > 1) res.writeHead(204).end(); // the first is never answered
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    closers.push(async () => {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/silent`;
    const server = () =>
      new WebhookService(t.storage.webhooks, t.services.auth, Buffer.alloc(32, 7), {
        clock: t.services.clock!,
      });
    const hooks = server();
    await hooks.add(projectId, url);
    const taskId = await t.createTask(t.adminToken, `stopped-${dialect}`);
    await t.upload(taskId, { consistency_result: [result('/d', bad)] });
    settle();
    hooks.start(20);
    for (let waited = 0; calls === 0 && waited < 5000; waited += 20)
      await new Promise((r) => setTimeout(r, 20));
    expect(calls).toBe(1);
    const stopping = Date.now();
    await hooks.stop();
    // an attempt may take 10 s: the stop did not wait for it, nor recorded it as the receiver's failure
    expect(Date.now() - stopping).toBeLessThan(2000);
    const mine = async () => (await t.storage.webhooks.recent(projectId, 10)).find((r) => r.url === url);
    // pending, its attempt counted (it may have reached the receiver: never merged away)
    expect(await mine()).toMatchObject({ state: 'pending', attempts: 1, last_status: null });
    expect(await hooks.deliverDue()).toBe(0); // stopped: begins nothing
    expect(calls).toBe(1);
    // another server (or this one restarted) posts it once the minute it was taken for is over
    expect(await server().deliverDue()).toBe(0);
    t.advanceClock(61_000);
    expect(await server().deliverDue()).toBe(1);
    expect(calls).toBe(2);
    expect(await mine()).toMatchObject({ state: 'delivered', attempts: 2 });
  });

  it('gives an event up after 24 hours of failed attempts, and says so on its row', async () => {
    const r = await receiver();
    const port = r.port;
    await r.close();
    const logger = createMemoryLogger('warn');
    const hooks = new WebhookService(t.storage.webhooks, t.services.auth, Buffer.alloc(32, 7), {
      clock: t.services.clock!,
      logger,
    });
    await hooks.add(projectId, `http://127.0.0.1:${port}/gone`);
    const taskId = await t.createTask(t.adminToken, `gone-${dialect}`);
    await t.upload(taskId, { consistency_result: [result('/d', bad)] });
    settle();
    expect(await hooks.deliverDue()).toBe(0);
    expect(logger.lines.join('\n')).toContain('webhook delivery failed; it is tried again');
    expect((await t.storage.webhooks.recent(projectId, 1))[0]).toMatchObject({
      state: 'pending',
      attempts: 1,
    });
    t.advanceClock(25 * 3600 * 1000);
    logger.lines.length = 0;
    expect(await hooks.deliverDue()).toBe(0);
    expect((await t.storage.webhooks.recent(projectId, 1))[0]).toMatchObject({
      state: 'failed',
      attempts: 2,
    });
    // the log says so, not that it is tried again
    const logged = logger.lines.join('\n');
    expect(logged).toContain('webhook delivery failed; given up (its event is more than 24 hours old)');
    expect(logged).not.toContain('tried again');
    // and is not tried again
    t.advanceClock(3600 * 1000);
    await hooks.deliverDue();
    expect((await t.storage.webhooks.recent(projectId, 1))[0]).toMatchObject({
      state: 'failed',
      attempts: 2,
    });
  });

  it('refuses a URL that is not http(s)', async () => {
    await expect(t.services.webhooks.add(projectId, 'ftp://example.com/x')).rejects.toThrow(/http/);
    await expect(t.services.webhooks.add(projectId, 'not a url')).rejects.toThrow(/not a URL/);
  });

  it("refuses a cloud's metadata address when added, in any spelling (the server's credentials live there)", async () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data/iam/',
      'http://0xa9fea9fe/', // URL reads it as 169.254.169.254
      'http://2852039166/',
      'http://[::ffff:169.254.169.254]/',
      'http://[fd00:ec2::254]/',
      'http://100.100.100.200/latest/meta-data/',
    ])
      await expect(t.services.webhooks.add(projectId, url), url).rejects.toThrow(
        /^url: .* link-local, metadata, multicast or reserved address/,
      );
    expect(await t.storage.webhooks.list()).toEqual([]);
  });

  it('posts to public addresses only under SMS_WEBHOOK_ADDRESSES=public: refused when added, or when a name resolves there', async () => {
    const r = await receiver();
    closers.push(r.close);
    const hooks = new WebhookService(t.storage.webhooks, t.services.auth, Buffer.alloc(32, 7), {
      clock: t.services.clock!,
      addresses: 'public',
    });
    await expect(hooks.add(projectId, r.url)).rejects.toThrow(
      /public addresses only \(SMS_WEBHOOK_ADDRESSES=public\)/,
    );
    // a name is looked up at each delivery (its addresses may change): refused there, never posted
    await hooks.add(projectId, `http://localhost:${r.port}/hook`);
    const taskId = await t.createTask(t.adminToken, `public-only-${dialect}`);
    await t.upload(taskId, { consistency_result: [result('/d', bad)] });
    settle();
    expect(await hooks.deliverDue()).toBe(0);
    expect(r.got).toHaveLength(0);
    const [row] = await t.storage.webhooks.recent(projectId, 1);
    expect(row).toMatchObject({ state: 'pending', attempts: 1 });
    expect(row!.last_error).toMatch(
      /^not posted: the receiver's address is not one this server posts webhooks to/,
    );
    expect(row!.last_error).not.toMatch(/127\.0\.0\.1|::1/);
    // the default (private) posts there
    const open = new WebhookService(t.storage.webhooks, t.services.auth, Buffer.alloc(32, 7), {
      clock: t.services.clock!,
    });
    t.advanceClock(3600 * 1000);
    expect(await open.deliverDue()).toBe(1);
    expect(r.got).toHaveLength(1);
  });
});
