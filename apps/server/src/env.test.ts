import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './env.js';

describe('loadConfig', () => {
  it('uses the documented defaults when nothing is set (and treats empty as unset)', () => {
    expect(loadConfig({ PORT: '' })).toEqual({
      port: 8080,
      host: '127.0.0.1',
      dataDir: './.sms-data',
      databaseUrl: undefined,
      adminPassword: undefined,
      tokenTtlSeconds: 86_400,
      shutdownTimeoutSeconds: 10,
      logLevel: 'info',
      sqliteDriver: undefined,
    });
  });

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '0',
      HOST: '0.0.0.0',
      SMS_DATA_DIR: '/var/lib/sms',
      DATABASE_URL: 'postgresql://sms@db/sms',
      SMS_ADMIN_PASSWORD: 'long-enough',
      SMS_TOKEN_TTL_SECONDS: '60',
      SMS_SHUTDOWN_TIMEOUT_SECONDS: '30',
      SMS_LOG_LEVEL: 'warn',
    });
    expect(config).toMatchObject({
      port: 0,
      host: '0.0.0.0',
      databaseUrl: 'postgresql://sms@db/sms',
      tokenTtlSeconds: 60,
      logLevel: 'warn',
    });
  });

  it('names every wrong variable in one message', () => {
    expect(() => loadConfig({ PORT: '65536', SMS_LOG_LEVEL: 'loud' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: '65536', SMS_LOG_LEVEL: 'loud' })).toThrow(
      'invalid configuration: PORT: expected integer <= 65535, received 65536; SMS_LOG_LEVEL: expected one of "debug" | "info" | "warn" | "error" | "silent", received "loud"',
    );
  });
});
