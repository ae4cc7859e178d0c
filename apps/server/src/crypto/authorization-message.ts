import { seal, unseal } from './sealed.js';

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
  return seal(JSON.stringify(details), key);
}

/** The details behind a message, or undefined when it was not made with this key or was altered. */
export function decodeAuthorizationMessage(message: string, key: Buffer): AuthorizationDetails | undefined {
  const text = unseal(message, key);
  if (text === undefined || text.length < 2) return undefined;
  try {
    return JSON.parse(text) as AuthorizationDetails;
  } catch {
    return undefined;
  }
}
