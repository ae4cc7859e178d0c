import { describe, expect, it } from 'vitest';
import { signToken, TokenSignatures } from './tokens.js';

describe('TokenSignatures', () => {
  const key = Buffer.alloc(32, 7);
  const claims = { uid: 'u', pid: 'p', gen: 0, iat: 1, exp: 2 };

  it('remembers a good signature and answers the same claims, but never a forged one', () => {
    const signatures = new TokenSignatures(key, 2);
    const token = signToken(claims, key);
    const first = signatures.check(token);
    expect(first).toMatchObject({ ok: true, claims });
    expect(signatures.check(token)).toEqual(first);
    // the signature's first character changed: always other bytes (its last ones may only be padding bits)
    const dot = token.lastIndexOf('.') + 1;
    const forged = `${token.slice(0, dot)}${token[dot] === 'A' ? 'B' : 'A'}${token.slice(dot + 1)}`;
    expect(signatures.check(forged)).toEqual({ ok: false, reason: 'bad signature' });
    expect(signatures.check(forged)).toEqual({ ok: false, reason: 'bad signature' });
    expect(signatures.check(signToken(claims, Buffer.alloc(32, 8)))).toEqual({
      ok: false,
      reason: 'bad signature',
    });
  });

  it('keeps at most its size, forgetting the oldest first', () => {
    const signatures = new TokenSignatures(key, 2);
    const tokens = [1, 2, 3].map((iat) => signToken({ ...claims, iat }, key));
    for (const token of tokens) expect(signatures.check(token).ok).toBe(true);
    const remembered = (signatures as unknown as { verified: Map<string, unknown> }).verified;
    expect([...remembered.keys()]).toEqual(tokens.slice(1));
  });
});
