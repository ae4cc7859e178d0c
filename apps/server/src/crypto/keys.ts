import { createHmac, hkdfSync, randomBytes } from 'node:crypto';

/** The server's master secret, kept in the database so every instance shares it. */
export function generateMasterSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Separate keys for separate purposes, derived from the master secret. */
export function deriveKey(
  masterSecret: string,
  purpose: 'token-signing' | 'authorization-message' | 'access-key-secret' | 'webhook-secret',
): Buffer {
  return Buffer.from(
    hkdfSync('sha256', Buffer.from(masterSecret, 'base64url'), Buffer.alloc(0), `sms:${purpose}`, 32),
  );
}

export function hmac(key: Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}
