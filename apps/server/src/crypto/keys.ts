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

/** A key for `purpose` derived from the master secret the database keeps (made on first use). */
export async function keyFromMaster(
  secrets: { secret(name: string, generate: () => string): Promise<string> },
  purpose: Parameters<typeof deriveKey>[1],
): Promise<Buffer> {
  return deriveKey(await secrets.secret('master', generateMasterSecret), purpose);
}

export function hmac(key: Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}
