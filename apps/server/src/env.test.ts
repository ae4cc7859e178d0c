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
      schedulerSeconds: 30,
      publicUrl: undefined,
      logLevel: 'info',
      sqliteDriver: undefined,
      trustedProxies: [],
      metrics: false,
      webhookAddresses: 'private',
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
      SMS_TRUSTED_PROXIES: ' 10.0.0.0/8, ::1 ,192.0.2.7,',
      SMS_METRICS: '1',
      SMS_WEBHOOK_ADDRESSES: 'public',
    });
    expect(config).toMatchObject({
      port: 0,
      host: '0.0.0.0',
      databaseUrl: 'postgresql://sms@db/sms',
      tokenTtlSeconds: 60,
      logLevel: 'warn',
      trustedProxies: ['10.0.0.0/8', '::1', '192.0.2.7'],
      metrics: true,
      webhookAddresses: 'public',
    });
  });

  it.each([
    ['proxy.internal', '"proxy.internal" is not an IP address or a network like 10.0.0.0/8'],
    ['10.0.0.0/33', '"10.0.0.0/33": the prefix length must be 0..32'],
    ['10.0.0.1, fd00::/129', '"fd00::/129": the prefix length must be 0..128'],
    ['10.0.0.0/8/8', '"10.0.0.0/8/8" is not an IP address'],
    ['10.0.0.0/', '"10.0.0.0/": the prefix length must be 0..32'],
    ['300.1.1.1', '"300.1.1.1" is not an IP address'],
  ])('refuses SMS_TRUSTED_PROXIES=%j, naming the entry', (value, message) => {
    expect(() => loadConfig({ SMS_TRUSTED_PROXIES: value })).toThrow(
      `invalid configuration: SMS_TRUSTED_PROXIES: ${message}`,
    );
  });

  it('names every wrong variable in one message', () => {
    expect(() => loadConfig({ PORT: '65536', SMS_LOG_LEVEL: 'loud' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: '65536', SMS_LOG_LEVEL: 'loud' })).toThrow(
      'invalid configuration: PORT: expected integer <= 65535, received 65536; SMS_LOG_LEVEL: expected one of "debug" | "info" | "warn" | "error" | "silent", received "loud"',
    );
  });

  it('refuses SMS_WEBHOOK_ADDRESSES other than private or public, saying what it takes', () => {
    expect(() => loadConfig({ SMS_WEBHOOK_ADDRESSES: 'none' })).toThrow(
      'SMS_WEBHOOK_ADDRESSES: expected one of "private" | "public", received "none"',
    );
  });

  it('refuses SMS_METRICS other than 0 or 1, saying what it takes', () => {
    expect(() => loadConfig({ SMS_METRICS: 'yes' })).toThrow(
      'SMS_METRICS: expected one of "0" | "1", received "yes"',
    );
  });
});
