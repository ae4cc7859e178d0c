import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import type { AppEnv } from './context.js';

/**
 * The peer address of the connection. X-Forwarded-For is not trusted (anyone
 * can send it); behind a proxy every client shares the proxy's address limit.
 */
export function clientAddress(c: Context<AppEnv>): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown'; // no socket: an in-process request
  }
}
