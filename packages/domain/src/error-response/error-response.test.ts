import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { ErrorResponseSchema, ForbiddenErrorResponseSchema } from './error-response.js';

/** The 403 example body of the API page, verbatim. */
const pageForbiddenExample = {
  error_code: 'SMS.9004',
  error_msg:
    'The current account does not have the permission to execute policy. You do not have permission to perform action XXX on resource XXX.',
  encoded_authorization_message: 'XXXXXX',
  error_param: ['You do not have permission to perform action XXX on resource XXX.'],
  details: [
    {
      error_code: 'SMS.9004',
      error_msg: 'You do not have permission to perform action XXX on resource XXX.',
    },
  ],
};

describe('ForbiddenErrorResponseSchema', () => {
  it("accepts the page's 403 example body", () => {
    expect(v.safeParse(ForbiddenErrorResponseSchema, pageForbiddenExample).success).toBe(true);
  });

  it('holds error_msg to 255 characters and error_code to 255', () => {
    const ok = (patch: object) =>
      v.safeParse(ForbiddenErrorResponseSchema, { ...pageForbiddenExample, ...patch }).success;
    expect(ok({ error_msg: 'm'.repeat(255) })).toBe(true);
    expect(ok({ error_msg: 'm'.repeat(256) })).toBe(false);
    expect(ok({ error_code: 'c'.repeat(255) })).toBe(true);
    expect(ok({ error_code: 'c'.repeat(256) })).toBe(false);
  });

  it('holds encoded_authorization_message to 65535 characters', () => {
    const ok = (n: number) =>
      v.safeParse(ForbiddenErrorResponseSchema, {
        ...pageForbiddenExample,
        encoded_authorization_message: 'e'.repeat(n),
      }).success;
    expect(ok(0)).toBe(true);
    expect(ok(65_535)).toBe(true);
    expect(ok(65_536)).toBe(false);
  });

  it('wants 1..20 error_param and details entries', () => {
    const ok = (n: number) =>
      v.safeParse(ForbiddenErrorResponseSchema, {
        ...pageForbiddenExample,
        error_param: Array.from({ length: n }, () => 'p'),
        details: Array.from({ length: n }, () => ({ error_code: 'SMS.9004', error_msg: 'm' })),
      }).success;
    expect(ok(0)).toBe(false);
    expect(ok(1)).toBe(true);
    expect(ok(20)).toBe(true);
    expect(ok(21)).toBe(false);
  });

  it('holds each error_param and detail text to 65535 characters', () => {
    const body = (text: string) => ({
      ...pageForbiddenExample,
      error_param: [text],
      details: [{ error_code: 'SMS.9004', error_msg: text }],
    });
    expect(v.safeParse(ForbiddenErrorResponseSchema, body('x'.repeat(65_535))).success).toBe(true);
    expect(v.safeParse(ForbiddenErrorResponseSchema, body('x'.repeat(65_536))).success).toBe(false);
  });
});

describe('ErrorResponseSchema', () => {
  it('holds error_code to 255 and error_msg to 1024 characters', () => {
    const ok = (code: number, msg: number) =>
      v.safeParse(ErrorResponseSchema, { error_code: 'c'.repeat(code), error_msg: 'm'.repeat(msg) }).success;
    expect(ok(0, 0)).toBe(true);
    expect(ok(255, 1024)).toBe(true);
    expect(ok(256, 1024)).toBe(false);
    expect(ok(255, 1025)).toBe(false);
  });

  it('requires both fields', () => {
    expect(v.safeParse(ErrorResponseSchema, { error_code: 'SMS.1001' }).success).toBe(false);
    expect(v.safeParse(ErrorResponseSchema, { error_msg: 'x' }).success).toBe(false);
  });
});
