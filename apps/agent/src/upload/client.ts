import { SmsClient, type SmsClientOptions } from '@sms/client';
import type { AgentEnv } from '../env.js';

/** An upload problem the user must fix (no endpoint, no credentials): exit 2. */
export class UploadConfigError extends Error {
  override name = 'UploadConfigError';
}

export interface UploadSettings {
  endpoint?: string | undefined;
  timeoutMs?: number;
  retries?: number;
  spoolDir?: string;
}

/** The client for the configured endpoint and credentials (flags over environment). */
export function createClient(env: AgentEnv, settings: UploadSettings): SmsClient {
  const endpoint = settings.endpoint ?? env.endpoint;
  if (!endpoint)
    throw new UploadConfigError('no server to upload to: give --endpoint URL or set SMS_ENDPOINT');
  const options: SmsClientOptions = {
    endpoint,
    userAgent: '@sms/agent',
    ...(settings.timeoutMs === undefined ? {} : { timeout: settings.timeoutMs }),
    ...(settings.retries === undefined ? {} : { retry: settings.retries }),
  };
  if (env.token) return new SmsClient({ ...options, token: env.token });
  if (env.username && env.password) {
    return new SmsClient({
      ...options,
      credentials: {
        user: env.username,
        password: env.password,
        ...(env.project ? { project: env.project } : {}),
      },
    });
  }
  throw new UploadConfigError(
    'no credentials: set SMS_TOKEN, or SMS_USERNAME and SMS_PASSWORD (and SMS_PROJECT)',
  );
}
