import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { Actions, AuthTokenRequestSchema, passwordTokenRequest, roleAllows } from './auth.js';

describe('AuthTokenRequestSchema', () => {
  it('accepts the IAM password request built by passwordTokenRequest', () => {
    const body = passwordTokenRequest({ user: 'agent-01', password: 'secret', project: 'default' });
    expect(v.safeParse(AuthTokenRequestSchema, body).success).toBe(true);
  });

  it('accepts a project given by id, and a request without scope', () => {
    const body = passwordTokenRequest({ user: 'agent-01', password: 'secret' });
    expect(v.safeParse(AuthTokenRequestSchema, body).success).toBe(true);
    const byId = { auth: { ...body.auth, scope: { project: { id: 'p-1' } } } };
    expect(v.safeParse(AuthTokenRequestSchema, byId).success).toBe(true);
  });

  it('rejects a scope that names no project and methods without password', () => {
    const body = passwordTokenRequest({ user: 'u', password: 'p' });
    expect(
      v.safeParse(AuthTokenRequestSchema, { auth: { ...body.auth, scope: { project: {} } } }).success,
    ).toBe(false);
    const noPassword = { auth: { ...body.auth, identity: { ...body.auth.identity, methods: ['token'] } } };
    expect(v.safeParse(AuthTokenRequestSchema, noPassword).success).toBe(false);
  });
});

describe('roleAllows', () => {
  it('lets an agent upload but not read results, a viewer read but not upload', () => {
    expect(roleAllows('agent', Actions.updateConsistencyCheckResult)).toBe(true);
    expect(roleAllows('agent', Actions.getConsistencyCheckResult)).toBe(false);
    expect(roleAllows('viewer', Actions.updateConsistencyCheckResult)).toBe(false);
    expect(roleAllows('viewer', Actions.getConsistencyCheckResult)).toBe(true);
    expect(roleAllows('admin', Actions.manageUsers)).toBe(true);
    expect(roleAllows('agent', Actions.createTask)).toBe(false);
  });
});
