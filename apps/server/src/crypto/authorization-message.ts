import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** What an `encoded_authorization_message` says, for an admin's eyes only. */
export interface AuthorizationDetails {
  reason: string;
  action?: string;
  resource?: string;
  user?: string;
  project?: string;
  role?: string;
  request_id?: string;
  at: string;
}

/** AES-256-GCM: `base64url(iv | ciphertext | tag)`. Only a holder of the server key can read it. */
export function encodeAuthorizationMessage(details: AuthorizationDetails, key: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(details), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}

/** The details behind a message, or undefined when it was not made with this key or was altered. */
export function decodeAuthorizationMessage(message: string, key: Buffer): AuthorizationDetails | undefined {
  try {
    const raw = Buffer.from(message, 'base64url');
    if (raw.length < 12 + 16 + 2) return undefined;
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    const text = Buffer.concat([
      decipher.update(raw.subarray(12, raw.length - 16)),
      decipher.final(),
    ]).toString('utf8');
    return JSON.parse(text) as AuthorizationDetails;
  } catch {
    return undefined;
  }
}
