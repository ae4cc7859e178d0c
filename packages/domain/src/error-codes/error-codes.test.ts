import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { TaskIdSchema } from '../task-id/index.js';
import { ErrorCodes, findErrorCode } from './error-codes.js';
import {
  AuthenticationError,
  isSmsError,
  NotFoundError,
  PermissionDeniedError,
  RequestValidationError,
  SmsError,
  StorageError,
} from './errors.js';

describe('ErrorCodes', () => {
  it('gives every code one meaning and a status', () => {
    const codes = Object.values(ErrorCodes).map((entry) => entry.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const entry of Object.values(ErrorCodes)) {
      expect(entry.code).toMatch(/^SMS\.\d{4}$/);
      expect(entry.status).toBeGreaterThanOrEqual(400);
      expect(entry.meaning.length).toBeGreaterThan(10);
    }
  });

  it('keeps SMS.9004 as permission denied with status 403, as on the page', () => {
    expect(ErrorCodes.PermissionDenied).toMatchObject({ code: 'SMS.9004', status: 403 });
    expect(findErrorCode('SMS.9004')?.name).toBe('PermissionDenied');
    expect(findErrorCode('SMS.0000')).toBeUndefined();
  });
});

describe('domain errors', () => {
  it('maps a missing task to SMS.3001 and anything else to SMS.3002', () => {
    expect(new NotFoundError('task', 'abc')).toMatchObject({ code: 'SMS.3001', status: 404 });
    expect(new NotFoundError('user', 'bob')).toMatchObject({ code: 'SMS.3002', status: 404 });
    expect(new NotFoundError('task', 'abc').message).toBe('The task "abc" was not found.');
  });

  it("words a permission denial like the page's 403 example", () => {
    const error = new PermissionDeniedError('sms:server:updateConsistencyCheckResult', 'task:42');
    expect(error).toMatchObject({ code: 'SMS.9004', status: 403, name: 'PermissionDeniedError' });
    expect(error.message).toBe(
      'The current account does not have the permission to execute policy. You do not have permission to perform action sms:server:updateConsistencyCheckResult on resource task:42.',
    );
  });

  it('turns valibot issues into a 400 error that names the field', () => {
    const parsed = v.safeParse(TaskIdSchema, 'x'.repeat(37));
    const error = new RequestValidationError(parsed.issues ?? [], { root: 'task_id' });
    expect(error).toMatchObject({ code: 'SMS.1001', status: 400 });
    expect(error.message).toBe('task_id: expected at most 36 characters, received 37');
    expect(error.issues).toHaveLength(1);
  });

  it('recognises its errors, also when they come from another copy of the package', () => {
    expect(isSmsError(new AuthenticationError('expired'))).toBe(true);
    expect(isSmsError(new StorageError('disk full'))).toBe(true);
    expect(isSmsError({ code: 'SMS.2008', status: 500, message: 'x' })).toBe(true);
    expect(isSmsError(new Error('plain'))).toBe(false);
    expect(isSmsError({ code: 'E_OTHER', status: 500 })).toBe(false);
    expect(new SmsError(ErrorCodes.InternalError, 'boom')).toBeInstanceOf(Error);
  });
});
