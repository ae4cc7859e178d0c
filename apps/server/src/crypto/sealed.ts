import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM under a server key: `base64url(iv | ciphertext | tag)`. The
 * `context` is authenticated but not stored (GCM's additional data), so a
 * value sealed for one purpose or row cannot be passed off as another's.
 */
export function seal(plaintext: string, key: Buffer, context = ''): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}

/** The text `seal` sealed, or undefined when it was sealed with another key or context, or altered. */
export function unseal(sealed: string, key: Buffer, context = ''): string | undefined {
  try {
    const raw = Buffer.from(sealed, 'base64url');
    if (raw.length < 12 + 16) return undefined;
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString(
      'utf8',
    );
  } catch {
    return undefined;
  }
}
