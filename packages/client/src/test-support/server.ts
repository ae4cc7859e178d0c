import { ADMIN_PASSWORD, createTestApp } from '@sms/server/testing';

export const ADMIN = { user: 'admin', password: ADMIN_PASSWORD, project: 'default' };
export const AGENT = { user: 'agent-01', password: 'agent-password-1', project: 'default' };
export const VIEWER = { user: 'viewer-01', password: 'viewer-password-1', project: 'default' };

/** What a test can make the transport do to the next request. */
export type Fault =
  | { kind: 'status'; status: number; headers?: Record<string, string> }
  | { kind: 'network' }
  | { kind: 'drop-response' }
  | { kind: 'hang' };

/**
 * The real server app in-process (`@sms/server/testing`), reached through a
 * `fetch` that records every request the server saw and can inject faults
 * before or after it.
 */
export async function createTestServer(options: { tokenTtlSeconds?: number } = {}) {
  const server = await createTestApp({
    tokenTtlSeconds: options.tokenTtlSeconds ?? 3600,
    clock: 'running',
    users: [
      { name: AGENT.user, password: AGENT.password, role: 'agent' },
      { name: VIEWER.user, password: VIEWER.password, role: 'viewer' },
    ],
  });
  const { app, storage, services } = server;

  /** Requests that reached the server, in order. */
  const seen: Request[] = [];
  /** Every attempt the client made, faulted or not. */
  const attempts: Request[] = [];
  const faults: Fault[] = [];

  const fetch: typeof globalThis.fetch = async (input, init) => {
    const request = new Request(input, init);
    // what an HTTP connection carries and the in-process app would not see: the URL's Host
    if (!request.headers.has('host')) request.headers.set('host', new URL(request.url).host);
    request.signal.throwIfAborted();
    attempts.push(request.clone());
    const fault = faults.shift();
    if (fault?.kind === 'network')
      throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') });
    if (fault?.kind === 'hang') {
      return new Promise<Response>((_, reject) => {
        request.signal.addEventListener('abort', () => reject(request.signal.reason));
      });
    }
    if (fault?.kind === 'status') {
      return new Response(JSON.stringify({ error_code: 'SMS.2009', error_msg: 'injected' }), {
        status: fault.status,
        headers: { 'content-type': 'application/json', ...fault.headers },
      });
    }
    seen.push(request.clone());
    const response = await app.fetch(request);
    if (fault?.kind === 'drop-response') {
      await response.arrayBuffer();
      throw new TypeError('fetch failed', { cause: new Error('socket hang up') });
    }
    return response;
  };

  return {
    storage,
    services,
    fetch,
    seen,
    attempts,
    /** Faults for the next requests, in order. */
    inject: (...next: Fault[]) => faults.push(...next),
    /** Moves the server's clock (token issue and expiry). */
    shiftServerClock: (ms: number) => server.advanceClock(ms),
    reset: () => {
      seen.length = 0;
      attempts.length = 0;
      faults.length = 0;
    },
    close: () => server.close(),
  };
}

export type TestServer = Awaited<ReturnType<typeof createTestServer>>;
