import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { ConfigError, type ServerConfig } from './env.js';
import { createApp } from './http/app.js';
import { trustedProxies } from './http/client-address.js';
import type { AppDeps } from './http/context.js';
import type { Logger } from './logger.js';
import { createMetrics } from './metrics.js';
import { AccessKeyService, accessKeySealingKey } from './services/access-key-service.js';
import { AuthService, type SignInLimits } from './services/auth-service.js';
import { ConfigurationService } from './services/configuration-service.js';
import { ConsistencyService } from './services/consistency-service.js';
import { DashboardService } from './services/dashboard-service.js';
import { FindingService } from './services/finding-service.js';
import { HealthService } from './services/health-service.js';
import { startScheduler } from './services/scheduler.js';
import { SignatureService } from './services/signature-service.js';
import { TaskService } from './services/task-service.js';
import { UserService } from './services/user-service.js';
import { VerificationService } from './services/verification-service.js';
import type { WebhookAddressPolicy } from './services/webhook-post.js';
import { WebhookService, webhookSealingKey } from './services/webhook-service.js';
import { Storage } from './storage/storage.js';
import { SERVER_VERSION } from './version.js';

/** The most header bytes a request may carry (Node's parser answers 431 past it). */
export const MAX_HEADER_BYTES = 64 * 1024;

/** The longest a request may take to arrive whole (body included): an hour, for large findings uploads. */
export const REQUEST_TIMEOUT_MS = 60 * 60 * 1000;

/** Builds the services on a storage: what `createApp` and the CLI both use. */
export async function createServices(
  storage: Storage,
  options: {
    tokenTtlSeconds: number;
    clock?: () => number;
    signInLimits?: SignInLimits;
    logger?: Logger;
    publicUrl?: () => string | undefined;
    /** Which receivers' addresses webhooks are posted to (default `private`). */
    webhookAddresses?: WebhookAddressPolicy;
  },
): Promise<Omit<AppDeps, 'logger'> & { users: UserService }> {
  const clock = options.clock ?? Date.now;
  const auth = await AuthService.create(storage, {
    tokenTtlSeconds: options.tokenTtlSeconds,
    clock,
    ...(options.signInLimits ? { signInLimits: options.signInLimits } : {}),
  });
  const tasks = new TaskService(storage, auth, clock);
  const accessKeys = new AccessKeyService(storage, await accessKeySealingKey(storage.signIn), clock);
  const findings = new FindingService(storage, tasks, clock, options.logger);
  return {
    health: new HealthService(storage),
    auth,
    accessKeys,
    signatures: new SignatureService(storage, accessKeys, {
      clock,
      ...(options.signInLimits ? { signInLimits: options.signInLimits } : {}),
    }),
    tasks,
    dashboard: new DashboardService(storage, auth),
    clock,
    consistency: new ConsistencyService(storage, tasks, clock, (taskId, dirChecks) =>
      findings.sweepLater(taskId, dirChecks),
    ),
    findings,
    webhooks: new WebhookService(storage.webhooks, auth, await webhookSealingKey(storage.signIn), {
      clock,
      ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.webhookAddresses ? { addresses: options.webhookAddresses } : {}),
    }),
    configurations: new ConfigurationService(storage, tasks, clock),
    verifications: new VerificationService(storage, tasks, auth, clock, options.logger),
    users: new UserService(storage, clock),
  };
}

/**
 * How long a stop waits, after the connections are gone, for the handlers still answering: half of
 * what the shutdown timeout leaves after the cut (at most 0.5 s), the rest for closing down.
 */
export function handlersAfterCutMs(timeoutSeconds: number): number {
  return (timeoutSeconds * 1000 - shutdownGraceMs(timeoutSeconds)) / 2;
}

/**
 * How long a stop waits for requests in flight before it cuts their connections: the shutdown
 * timeout less a second (the time the rest of the stop needs: the handlers still answering, the
 * scheduler, webhooks, the database), or half of it when it is shorter than 2 s.
 */
export function shutdownGraceMs(timeoutSeconds: number): number {
  return Math.max(timeoutSeconds * 500, timeoutSeconds * 1000 - 1000);
}

export interface RunningServer {
  url: string;
  port: number;
  /** Stops accepting, finishes the requests in flight, closes the database. */
  close(): Promise<void>;
}

/**
 * Opens the storage (migrating it), creates the first admin on an empty
 * database, and serves the API.
 */
export async function startServer(
  config: ServerConfig,
  logger: Logger,
  options: { announcePassword?: (password: string) => void } = {},
): Promise<RunningServer> {
  const metrics = config.metrics ? createMetrics() : undefined;
  const storage = await Storage.open({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    sqliteDriver: config.sqliteDriver,
    ...(metrics ? { events: metrics.storage } : {}),
  });
  for (const { path, was, now } of storage.tightened) {
    logger.warn('data file was readable by other users; tightened it', { path, was, now });
  }
  let listeningUrl: string | undefined;
  const services = await createServices(storage, {
    tokenTtlSeconds: config.tokenTtlSeconds,
    logger,
    publicUrl: () => config.publicUrl ?? listeningUrl,
    webhookAddresses: config.webhookAddresses,
  });
  const abandoned = await services.findings.abandonStaleUploads(storage.dialect === 'sqlite');
  if (abandoned > 0)
    logger.warn('deleted findings uploads left unfinished by a stop', { uploads: abandoned });
  const bootstrap = await services.users.bootstrap(config.adminPassword);
  if (bootstrap.created) {
    logger.info('created user admin in project default', {
      // not named password_*: the logger redacts such fields
      source: bootstrap.generatedPassword ? 'generated' : 'SMS_ADMIN_PASSWORD',
    });
    // The one time a password is shown: a generated first-start password, on stderr, outside the JSON log.
    if (bootstrap.generatedPassword) options.announcePassword?.(bootstrap.generatedPassword);
  }
  services.webhooks.start();
  const stopScheduler = startScheduler(
    services.verifications,
    Date.now,
    config.schedulerSeconds * 1000,
    logger,
  );
  let draining = false;
  // requests whose handler has not answered yet: a stop that cut their connections waits for them
  // (an upload's commit, a findings batch's clean-up) before it closes the database. A streamed
  // answer (a findings download) counts until its response starts: its later reads end with it.
  let handling = 0;
  const whenIdle = new EventEmitter();
  const handled = async (answer: Response | Promise<Response>): Promise<Response> => {
    handling++;
    try {
      return await answer;
    } finally {
      if (--handling === 0) whenIdle.emit('idle');
    }
  };
  const app = createApp(
    {
      ...services,
      logger,
      isDraining: () => draining,
      trustedProxies: trustedProxies(config.trustedProxies),
      ...(metrics ? { metrics } : {}),
    },
    { version: SERVER_VERSION },
  );
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve(
      {
        fetch: (request: Request, env: unknown) => handled(app.fetch(request, env)),
        port: config.port,
        hostname: config.host,
        // Node's default of 16 KiB for all headers together would refuse (431) a token of the
        // 16384 characters the API allows; 64 KiB lets every valid request reach our checks.
        // a findings upload of a million lines from a slow link may take longer than Node's default of
        // 5 minutes for a whole request; headers still have to come within Node's 60 s
        serverOptions: { maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: REQUEST_TIMEOUT_MS },
      },
      () => resolve(s),
    );
    s.once('error', (error) => reject(listenFailure(error, config.host, config.port)));
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  listeningUrl = url;
  // At every level: supervisors, scripts and tests wait for this line to learn the port.
  logger.always('listening', {
    url,
    storage: storage.dialect,
    location: storage.location,
    version: SERVER_VERSION,
  });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      draining = true;
      // agents' long polls would hold the stop until the shutdown timeout
      services.verifications.endPolls();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections with no request in flight would hold close() open;
        // those whose request finishes later are closed as they become idle.
        const closeIdle = () => {
          if ('closeIdleConnections' in server) server.closeIdleConnections();
        };
        closeIdle();
        const sweeper = setInterval(closeIdle, 50);
        // What is still open near the shutdown timeout is cut, so that the stop ends with the
        // database closed and exit 0: a findings download to a client that stopped reading (or a
        // long one on a slow link) would otherwise hold the stop to the timeout and exit 1. A cut
        // download ends without its last chunk, which clients report as incomplete; an upload cut
        // before its answer was not acknowledged, and its retry with the same key is answered once.
        const cut = setTimeout(() => {
          server.getConnections((_, open) => {
            logger.warn('closing connections still open at the shutdown timeout', { connections: open });
            if ('closeAllConnections' in server) server.closeAllConnections();
          });
        }, shutdownGraceMs(config.shutdownTimeoutSeconds));
        server.once('close', () => {
          clearInterval(sweeper);
          clearTimeout(cut);
        });
      });
      if (handling > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, handlersAfterCutMs(config.shutdownTimeoutSeconds));
          whenIdle.once('idle', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      await stopScheduler();
      await services.webhooks.stop();
      await services.findings.swept();
      await storage.close();
      logger.info('stopped');
    })();
    return closing;
  };
  return { url, port, close };
}

/** Why the server cannot listen, and what to do: a HOST or PORT that cannot be used is a configuration error (exit 2). */
function listenFailure(error: NodeJS.ErrnoException, host: string, port: number): Error {
  switch (error.code) {
    case 'EADDRINUSE':
      return new Error(
        `cannot listen on ${host}:${port}: another program listens there (EADDRINUSE): stop it, or give another PORT`,
      );
    case 'EAI_AGAIN':
      // the name could not be looked up now (DNS not ready at boot): not a wrong setting
      return new Error(
        `cannot listen on HOST=${host}: its name could not be looked up now (EAI_AGAIN): start again once name resolution works, or give an address`,
      );
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return new ConfigError(
        `HOST=${host} is not an address of this machine (${error.code}): give one of its addresses, 0.0.0.0 (every IPv4 one) or :: (every one)`,
      );
    case 'EACCES':
      return new ConfigError(
        `PORT=${port}: this user may not listen on a port below 1024 (EACCES): give PORT=1024 or more, or run with CAP_NET_BIND_SERVICE`,
      );
    default:
      return error;
  }
}
