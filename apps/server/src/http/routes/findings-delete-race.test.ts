import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, result, type TestApp } from '../../testing/app.js';

// PostgreSQL: a findings upload closing its batch (the batch's row, then the task's through the
// foreign key of its directories) and a task deleted at the same moment (the task's row, then the
// batch's through the cascade) took their locks in opposite orders: a deadlock, 500 for the upload.
let t: TestApp;
describe('a findings upload and its task deleted at the same moment, on PostgreSQL', () => {
  beforeAll(async () => {
    t = await createTestApp({ dialect: 'postgres' });
  });
  afterAll(() => t.close());

  it('never deadlock', { timeout: 120_000 }, async () => {
    const answers: string[] = [];
    for (let round = 0; round < 40; round++) {
      const taskId = await t.createTask(t.adminToken, `race-${round}`);
      const runId = randomUUID();
      await t.upload(taskId, { consistency_result: [result('/d')] }, { 'x-sms-run-id': runId });
      const lines = Array.from({ length: 50 }, (_, i) => ({
        dir_check: '/d',
        category: 'missing',
        path: `f${i}`,
        reason: 'not at the target',
      }));
      const [findings, deleted] = await Promise.all([
        t.uploadFindings(taskId, runId, lines),
        new Promise((resolve) => setTimeout(resolve, round % 5)).then(() =>
          t.request(`/v3/tasks/${taskId}`, { method: 'DELETE', headers: { 'x-auth-token': t.adminToken } }),
        ),
      ]);
      answers.push(await findings.text(), await deleted.text());
    }
    expect(answers.filter((a) => /deadlock/.test(a))).toEqual([]);
  });
});
