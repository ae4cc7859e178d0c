import {
  isSmsValidationError,
  type SmsAccessKeyCredentials,
  SmsClient,
  type SmsClientOptions,
} from '@sms/client';
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
  const accessKey = accessKeyOf(env);
  if (accessKey) {
    try {
      return new SmsClient({ ...options, credentials: accessKey });
    } catch (error) {
      if (isSmsValidationError(error)) {
        throw new UploadConfigError(`SMS_ACCESS_KEY and SMS_SECRET_KEY: ${error.message}`);
      }
      throw error;
    }
  }
  if (env.projectId) {
    throw new UploadConfigError(
      'SMS_PROJECT_ID goes with an access key (SMS_ACCESS_KEY and SMS_SECRET_KEY); with SMS_USERNAME and SMS_PASSWORD name the project in SMS_PROJECT',
    );
  }
  if (env.token) {
    try {
      return new SmsClient({ ...options, token: env.token });
    } catch (error) {
      if (isSmsValidationError(error)) throw new UploadConfigError(`SMS_TOKEN: ${error.message}`);
      throw error;
    }
  }
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
    'no credentials: set SMS_TOKEN, or SMS_USERNAME and SMS_PASSWORD (and SMS_PROJECT), or SMS_ACCESS_KEY and SMS_SECRET_KEY (and SMS_PROJECT_ID)',
  );
}

/**
 * The access key of the environment (`SMS_ACCESS_KEY`, `SMS_SECRET_KEY`,
 * `SMS_PROJECT_ID`), when one is set: the client signs every request with it.
 * Half a pair, or an access key beside another way to sign in, is refused
 * rather than guessed at.
 */
function accessKeyOf(env: AgentEnv): SmsAccessKeyCredentials | undefined {
  if (!env.accessKey && !env.secretKey) return undefined;
  if (!env.accessKey || !env.secretKey) {
    throw new UploadConfigError(
      `${env.accessKey ? 'SMS_ACCESS_KEY is set without SMS_SECRET_KEY' : 'SMS_SECRET_KEY is set without SMS_ACCESS_KEY'}: an access key needs both (and SMS_PROJECT_ID when its user has more than one project)`,
    );
  }
  const others = [
    ['SMS_TOKEN', env.token],
    ['SMS_USERNAME', env.username],
    ['SMS_PASSWORD', env.password],
    ['SMS_PROJECT', env.project],
  ].flatMap(([name, value]) => (value ? [name] : []));
  if (others.length > 0) {
    throw new UploadConfigError(
      `credentials given two ways: SMS_ACCESS_KEY and SMS_SECRET_KEY, and ${others.join(', ')}; set only one way (with an access key, the project's id goes in SMS_PROJECT_ID)`,
    );
  }
  return {
    accessKey: env.accessKey,
    secretKey: env.secretKey,
    ...(env.projectId ? { projectId: env.projectId } : {}),
  };
}
