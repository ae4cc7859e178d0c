import { timingSafeEqual } from 'node:crypto';
import { AuthenticationError } from '@sms/domain';
import type { Context } from 'hono';
import { deleteCookie, getCookie } from 'hono/cookie';
import type { JSX } from 'hono/jsx/jsx-runtime';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppEnv } from '../http/context.js';
import type { Session } from '../services/auth-service.js';

/** What every dashboard page shares: its cookies, the signed-in session, form tokens, rendering. */

/** The session cookie: its value is the session id; the server keeps only a hash of it. */
export const SESSION_COOKIE = 'sms_session';
/** The sign-in form's cookie: the same random value as the form's hidden field (login CSRF). */
export const SIGN_IN_COOKIE = 'sms_signin';
export const COOKIE_PATH = '/ui';
export const FORM_TOKEN = /^[A-Za-z0-9_-]{43}$/;
/** Served over HTTPS, here or at a proxy in front: then cookies are `Secure`. */
export function isHttps(c: Context<AppEnv>): boolean {
  if (new URL(c.req.url).protocol === 'https:') return true;
  // Trusting the header can only add `Secure`: a forged one makes the cookie stricter, never weaker.
  return c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase() === 'https';
}

export function cookieOptions(c: Context<AppEnv>, maxAge: number) {
  return { path: COOKIE_PATH, httpOnly: true, sameSite: 'Strict', secure: isHttps(c), maxAge } as const;
}

export function clearCookie(c: Context<AppEnv>, name: string): void {
  deleteCookie(c, name, { path: COOKIE_PATH, secure: isHttps(c) });
}

export function sameToken(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined || !FORM_TOKEN.test(a) || !FORM_TOKEN.test(b)) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

export function nowOf(c: Context<AppEnv>): number {
  return (c.get('deps').clock ?? Date.now)();
}

export function render(c: Context<AppEnv>, page: JSX.Element, status: ContentfulStatusCode = 200): Response {
  return c.html(`<!doctype html>${String(page)}`, status);
}

/** The message for a list page's `?done=` (what the action that redirected there did), when `messages` has one. */
export function doneMessage(c: Context<AppEnv>, messages: Record<string, string>): string | undefined {
  const done = c.req.query('done');
  return done !== undefined && Object.hasOwn(messages, done) ? messages[done] : undefined;
}

/** The signed-in session, or undefined (and the stale cookie cleared). */
export async function currentSession(c: Context<AppEnv>): Promise<Session | undefined> {
  const cookie = getCookie(c, SESSION_COOKIE);
  if (cookie === undefined) return undefined;
  try {
    const session = await c.get('deps').auth.session(cookie);
    c.set('principal', session.principal);
    return session;
  } catch (error) {
    if (!(error instanceof AuthenticationError)) throw error;
    clearCookie(c, SESSION_COOKIE);
    return undefined;
  }
}

export function toSignIn(c: Context<AppEnv>, hadCookie: boolean): Response {
  const params = new URLSearchParams({ next: c.req.path + (new URL(c.req.url).search || '') });
  if (hadCookie) params.set('ended', '1');
  return c.redirect(`/ui/sign-in?${params}`, 303);
}
