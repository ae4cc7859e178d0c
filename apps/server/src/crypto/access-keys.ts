import { randomInt } from 'node:crypto';

const CAPITALS_AND_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const LETTERS_AND_DIGITS = `${CAPITALS_AND_DIGITS}abcdefghijklmnopqrstuvwxyz`;

function randomText(alphabet: string, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += alphabet[randomInt(alphabet.length)];
  return text;
}

/** An access key id (AK) as IAM makes them: 20 capital letters and digits (about 103 bits). */
export function generateAccessKeyId(): string {
  return randomText(CAPITALS_AND_DIGITS, 20);
}

/** A secret key (SK) as IAM makes them: 40 letters and digits (about 238 bits). */
export function generateSecretKey(): string {
  return randomText(LETTERS_AND_DIGITS, 40);
}
