import { TooManyRequestsError } from '@sms/domain';
import type { SignInStore } from '../storage/storage.js';

/** Failed sign-ins allowed in one window, per user name and per client address. */
export interface SignInLimits {
  perUser: number;
  perAddress: number;
  windowSeconds: number;
}

/** 10 failures per user and 100 per address in 15 minutes: enough for typos, far too few for guessing. */
export const DEFAULT_SIGN_IN_LIMITS: SignInLimits = { perUser: 10, perAddress: 100, windowSeconds: 15 * 60 };

/** The failure count of a user name (password sign-ins); a new password or the user's removal clears it. */
export const userFailureKey = (name: string) => `user:${name}`;

/**
 * Refuses (429 `SMS.9005`, with the seconds to wait) when any of `counts`
 * (a failure key, its limit, and who it is, for the message) has reached its
 * limit in the current window. Password sign-ins and signatures share the counts.
 */
export async function refuseOverLimit(
  store: SignInStore,
  counts: readonly (readonly [key: string, limit: number, who: string])[],
  now: number,
  windowSeconds: number,
): Promise<void> {
  const windowMs = windowSeconds * 1000;
  for (const [key, limit, who] of counts) {
    const { failures, windowStart } = await store.failures(key, now, windowMs);
    if (failures >= limit) {
      const wait = Math.max(1, Math.ceil((windowStart + windowMs - now) / 1000));
      throw new TooManyRequestsError(`Too many failed sign-ins ${who}; try again in ${wait} s.`, wait);
    }
  }
}
