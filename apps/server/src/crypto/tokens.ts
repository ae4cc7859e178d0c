import { randomBytes, timingSafeEqual } from 'node:crypto';
import { hmac } from './keys.js';

/** What a token carries: who, in which project, which password generation, and when it expires. */
export interface TokenClaims {
  /** user id */
  uid: string;
  /** project id */
  pid: string;
  /** the user's token generation when issued; a password change moves it on, revoking the token */
  gen: number;
  /** issued at, ms since the epoch */
  iat: number;
  /** expires at, ms since the epoch */
  exp: number;
  /** a random id, so two tokens issued in the same ms differ */
  jti: string;
}

const PREFIX = 'sms1';

/** `sms1.<claims, base64url JSON>.<HMAC-SHA256, base64url>`. */
export function signToken(claims: Omit<TokenClaims, 'jti'>, key: Buffer): string {
  const body = Buffer.from(JSON.stringify({ ...claims, jti: randomBytes(9).toString('base64url') })).toString(
    'base64url',
  );
  const signed = `${PREFIX}.${body}`;
  return `${signed}.${hmac(key, signed).toString('base64url')}`;
}

export type TokenCheck =
  | { ok: true; claims: TokenClaims }
  | { ok: false; reason: 'malformed' | 'bad signature' };

/** Checks the form and the signature (in constant time); expiry and revocation are the caller's. */
export function verifyTokenSignature(token: string, key: Buffer): TokenCheck {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== PREFIX || !parts[1] || !parts[2])
    return { ok: false, reason: 'malformed' };
  const expected = hmac(key, `${parts[0]}.${parts[1]}`);
  const given = Buffer.from(parts[2], 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, reason: 'bad signature' };
  try {
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as TokenClaims;
    const valid =
      typeof claims.uid === 'string' &&
      typeof claims.pid === 'string' &&
      Number.isInteger(claims.gen) &&
      Number.isInteger(claims.iat) &&
      Number.isInteger(claims.exp);
    return valid ? { ok: true, claims } : { ok: false, reason: 'malformed' };
  } catch {
    return { ok: false, reason: 'malformed' };
  }
}

/**
 * `verifyTokenSignature` with the last `size` tokens whose signature was
 * good remembered, so that an agent's every upload does not hash its token
 * again. Only the signature is remembered: it never changes for a token and a
 * key, while expiry and revocation (a password change, a lost membership) are
 * checked by the caller on every request, as before. Forged tokens are never
 * remembered. The oldest entry goes first when it is full.
 */
export class TokenSignatures {
  private readonly verified = new Map<string, TokenClaims>();

  constructor(
    private readonly key: Buffer,
    private readonly size = 1024,
  ) {}

  check(token: string): TokenCheck {
    const known = this.verified.get(token);
    if (known) return { ok: true, claims: known };
    const check = verifyTokenSignature(token, this.key);
    if (check.ok) {
      if (this.verified.size >= this.size) this.verified.delete(this.verified.keys().next().value as string);
      this.verified.set(token, check.claims);
    }
    return check;
  }
}
