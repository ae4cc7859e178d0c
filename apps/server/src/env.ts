import { formatIssues, NewPasswordSchema } from '@sms/domain';
import * as v from 'valibot';
import { trustedProxyProblem } from './http/client-address.js';
import { WEBHOOK_ADDRESS_POLICIES, type WebhookAddressPolicy } from './services/webhook-post.js';

const Port = v.pipe(
  v.string(),
  v.regex(/^\d{1,5}$/, 'expected a port number 0..65535'),
  v.transform(Number),
  v.maxValue(65_535),
);
const Seconds = (min: number, max: number) =>
  v.pipe(
    v.string(),
    v.regex(/^\d{1,10}$/, 'expected a whole number of seconds'),
    v.transform(Number),
    v.minValue(min),
    v.maxValue(max),
  );

/**
 * An address or a name to listen on, as written: no space, and no brackets (an IPv6 address goes
 * without them here, unlike in a URL). Whether this machine has it is found when the server listens.
 */
function isListenHost(host: string): boolean {
  return host !== '' && !/[\s[\]]/.test(host);
}

/** Every environment variable the server reads, with its rule and default. */
const EnvSchema = v.object({
  PORT: v.optional(Port, '8080'),
  HOST: v.optional(
    v.pipe(
      v.string(),
      v.check(
        isListenHost,
        'expected an address of this machine (127.0.0.1, 0.0.0.0 for every IPv4 one, :: for every one; an IPv6 address without brackets) or a host name',
      ),
    ),
    '127.0.0.1',
  ),
  SMS_DATA_DIR: v.optional(v.pipe(v.string(), v.minLength(1)), './.sms-data'),
  DATABASE_URL: v.optional(
    v.pipe(v.string(), v.regex(/^postgres(ql)?:\/\//, 'expected a postgres:// or postgresql:// URL')),
  ),
  SMS_ADMIN_PASSWORD: v.optional(NewPasswordSchema),
  SMS_TOKEN_TTL_SECONDS: v.optional(Seconds(60, 366 * 24 * 3600), String(24 * 3600)),
  SMS_SHUTDOWN_TIMEOUT_SECONDS: v.optional(Seconds(1, 3600), '10'),
  SMS_SCHEDULER_SECONDS: v.optional(Seconds(1, 3600), '30'),
  SMS_PUBLIC_URL: v.optional(
    v.pipe(
      v.string(),
      v.url('expected the URL people open the dashboard at, such as https://sms.example.com'),
      // webhook events carry links made from it: javascript: or ftp: would be no link to the dashboard
      v.regex(/^https?:\/\//i, 'expected an http:// or https:// URL, such as https://sms.example.com'),
    ),
  ),
  SMS_WEBHOOK_ADDRESSES: v.optional(v.picklist(WEBHOOK_ADDRESS_POLICIES), 'private'),
  SMS_LOG_LEVEL: v.optional(v.picklist(['debug', 'info', 'warn', 'error', 'silent']), 'info'),
  SMS_METRICS: v.optional(
    v.picklist(['0', '1'], 'expected 0 (off) or 1 (GET /metrics on the API port)'),
    '0',
  ),
  SMS_SQLITE_DRIVER: v.optional(v.picklist(['auto', 'better-sqlite3', 'node-sqlite']), 'auto'),
  SMS_TRUSTED_PROXIES: v.optional(
    v.pipe(
      v.string(),
      v.transform((list) =>
        list
          .split(',')
          .map((entry) => entry.trim())
          .filter(Boolean),
      ),
      v.rawCheck(({ dataset, addIssue }) => {
        if (!dataset.typed) return;
        const problem = dataset.value.map(trustedProxyProblem).find(Boolean);
        if (problem) addIssue({ message: `${problem}; expected a comma-separated list of those` });
      }),
    ),
    '',
  ),
});

export type ServerConfig = {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  adminPassword: string | undefined;
  tokenTtlSeconds: number;
  shutdownTimeoutSeconds: number;
  /** How often the scheduler makes the requests the tasks' schedules ask for. */
  schedulerSeconds: number;
  /** The dashboard's address as people reach it (webhook events link to it); default the listening URL. */
  publicUrl: string | undefined;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** undefined: the default for this Node.js (node:sqlite on 24+, better-sqlite3 before) */
  sqliteDriver: 'better-sqlite3' | 'node-sqlite' | undefined;
  /** `GET /metrics` (Prometheus) on the API port */
  metrics: boolean;
  /** addresses and networks of reverse proxies whose X-Forwarded-For is believed (none by default) */
  trustedProxies: string[];
  /** which receivers' addresses webhooks are posted to */
  webhookAddresses: WebhookAddressPolicy;
};

/** The configuration is wrong; the message names each variable and the rule it broke. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads and validates the server's configuration. This is the only place that
 * touches `process.env`. Empty variables count as unset.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const present = Object.fromEntries(
    Object.keys(EnvSchema.entries)
      .map((key) => [key, env[key]] as const)
      .filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = v.safeParse(EnvSchema, present);
  if (!parsed.success) {
    throw new ConfigError(`invalid configuration: ${formatIssues(parsed.issues, { root: 'environment' })}`);
  }
  const e = parsed.output;
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  // node:sqlite without a flag: 22.13 and later, 23.4 and later
  if (
    e.SMS_SQLITE_DRIVER === 'node-sqlite' &&
    (major < 22 || (major === 22 && minor < 13) || (major === 23 && minor < 4))
  )
    throw new ConfigError(
      `invalid configuration: SMS_SQLITE_DRIVER: node-sqlite needs Node.js 22.13 or later (23.4 on 23; this is ${process.version}): give better-sqlite3, or auto`,
    );
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: e.SMS_DATA_DIR,
    databaseUrl: e.DATABASE_URL,
    adminPassword: e.SMS_ADMIN_PASSWORD,
    tokenTtlSeconds: e.SMS_TOKEN_TTL_SECONDS,
    shutdownTimeoutSeconds: e.SMS_SHUTDOWN_TIMEOUT_SECONDS,
    schedulerSeconds: e.SMS_SCHEDULER_SECONDS,
    publicUrl: e.SMS_PUBLIC_URL,
    logLevel: e.SMS_LOG_LEVEL,
    sqliteDriver: e.SMS_SQLITE_DRIVER === 'auto' ? undefined : e.SMS_SQLITE_DRIVER,
    trustedProxies: e.SMS_TRUSTED_PROXIES,
    metrics: e.SMS_METRICS === '1',
    webhookAddresses: e.SMS_WEBHOOK_ADDRESSES,
  };
}
