import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { formatIssues } from '../issues/index.js';
import {
  AccessKeyIdSchema,
  CreateCredentialRequestSchema,
  CreateCredentialResponseSchema,
  UpdateCredentialRequestSchema,
} from './credential.js';

describe('credential schemas (IAM OS-CREDENTIAL)', () => {
  it('takes a user id and an optional description of at most 255 characters, nothing else', () => {
    expect(v.is(CreateCredentialRequestSchema, { credential: { user_id: 'u-1' } })).toBe(true);
    expect(
      v.is(CreateCredentialRequestSchema, { credential: { user_id: 'u-1', description: 'd'.repeat(255) } }),
    ).toBe(true);
    const long = v.safeParse(CreateCredentialRequestSchema, {
      credential: { user_id: 'u-1', description: 'd'.repeat(256) },
    });
    expect(formatIssues(long.issues ?? [])).toBe(
      'credential.description: expected at most 255 characters, received 256',
    );
    expect(v.is(CreateCredentialRequestSchema, { credential: { user_id: '' } })).toBe(false);
    expect(v.is(CreateCredentialRequestSchema, { credential: { user_id: 'u', secret: 'x' } })).toBe(false);
  });

  it('changes a status or a description, and asks for one of them', () => {
    expect(v.is(UpdateCredentialRequestSchema, { credential: { status: 'inactive' } })).toBe(true);
    expect(v.is(UpdateCredentialRequestSchema, { credential: { description: '' } })).toBe(true);
    expect(v.is(UpdateCredentialRequestSchema, { credential: {} })).toBe(false);
    expect(v.is(UpdateCredentialRequestSchema, { credential: { status: 'disabled' } })).toBe(false);
  });

  it('knows an access key by its form and shows the secret only in the answer to a create', () => {
    expect(v.is(AccessKeyIdSchema, 'ABCDEFGHIJ0123456789')).toBe(true);
    expect(v.is(AccessKeyIdSchema, 'abcdefghij0123456789')).toBe(false);
    const credential = {
      access: 'ABCDEFGHIJ0123456789',
      secret: 'a'.repeat(40),
      user_id: 'u-1',
      status: 'active',
      description: '',
      create_time: '2026-12-04T18:55:12.000Z',
    };
    expect(v.is(CreateCredentialResponseSchema, { credential })).toBe(true);
    expect(v.is(CreateCredentialResponseSchema, { credential: { ...credential, secret: 'short' } })).toBe(
      false,
    );
  });
});
