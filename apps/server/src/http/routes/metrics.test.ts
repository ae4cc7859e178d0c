import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, result, type TestApp } from '../../testing/app.js';

const apps: TestApp[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

/** The value of one sample line of the Prometheus text, or undefined. */
function sample(text: string, line: string): number | undefined {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

describe('GET /metrics', () => {
  it('is not served unless metrics are on (SMS_METRICS=1)', async () => {
    const t = await createTestApp();
    apps.push(t);
    expect((await t.request('/metrics')).status).toBe(404);
  });

  it('counts uploads stored and refused by code, times requests by route, and counts batches, sign-in failures and database errors', async () => {
    const t = await createTestApp({ metrics: true });
    apps.push(t);
    const taskId = await t.createTask();
    expect((await t.upload(taskId, { consistency_result: [result('/a')] })).status).toBe(200);
    expect((await t.upload(taskId, { consistency_result: [result('/b')] })).status).toBe(200);
    const tooMany = Array.from({ length: 31 }, (_, i) => result(`/d${i}`));
    expect((await t.upload(taskId, { consistency_result: tooMany })).status).toBe(400);
    expect((await t.upload('no-such-task', { consistency_result: [] })).status).toBe(404);
    await expect(t.tokenFor('admin', 'wrong-password')).rejects.toThrow();

    const res = await t.request('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(sample(text, 'sms_uploads_stored_total')).toBe(2);
    expect(sample(text, 'sms_uploads_refused_total{error_code="SMS.9999"}')).toBeUndefined();
    const refused = text.split('\n').filter((l) => l.startsWith('sms_uploads_refused_total{'));
    expect(refused).toHaveLength(2);
    expect(refused.every((l) => / 1$/.test(l))).toBe(true);
    expect(sample(text, 'sms_sign_in_failures_total')).toBe(1);
    expect(sample(text, 'sms_group_commit_batch_size_count')).toBe(2);
    const upload = 'method="POST",route="/v3/tasks/:task_id{[^/]*}/consistency-result"';
    expect(sample(text, `sms_request_duration_seconds_count{${upload},status="200"}`)).toBe(2);
    expect(sample(text, `sms_request_duration_seconds_count{${upload},status="400"}`)).toBe(1);
    expect(sample(text, 'sms_database_errors_total')).toBeUndefined();

    await t.storage.close(); // the database goes away: the next upload fails reading its principal
    expect((await t.upload(taskId, { consistency_result: [result('/c')] })).status).toBe(500);
    const after = await (await t.request('/metrics')).text();
    expect(sample(after, 'sms_database_errors_total{operation="read principal"}')).toBe(1);
    expect(sample(after, 'sms_uploads_refused_total{error_code="SMS.2008"}')).toBe(1);
  });
});
