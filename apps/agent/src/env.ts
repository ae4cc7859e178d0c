import { homedir } from 'node:os';
import { join } from 'node:path';

/** What the agent reads from its environment; the only place that touches `process.env`. */
export interface AgentEnv {
  endpoint: string | undefined;
  token: string | undefined;
  username: string | undefined;
  password: string | undefined;
  project: string | undefined;
  accessKey: string | undefined;
  secretKey: string | undefined;
  projectId: string | undefined;
  spoolDir: string;
  /**
   * For tests only: findings kept per directory per run before the truncation
   * marker (`SMS_AGENT_FINDINGS_LIMIT`; the API's 1,000,000 when unset).
   */
  findingsLimit: number | undefined;
}

export function readEnv(env: NodeJS.ProcessEnv = process.env): AgentEnv {
  const value = (key: string) => (env[key] === undefined || env[key] === '' ? undefined : env[key]);
  const stateHome = value('XDG_STATE_HOME') ?? join(value('HOME') ?? homedir(), '.local', 'state');
  return {
    endpoint: value('SMS_ENDPOINT'),
    token: value('SMS_TOKEN'),
    username: value('SMS_USERNAME'),
    password: value('SMS_PASSWORD'),
    project: value('SMS_PROJECT'),
    accessKey: value('SMS_ACCESS_KEY'),
    secretKey: value('SMS_SECRET_KEY'),
    projectId: value('SMS_PROJECT_ID'),
    spoolDir: value('SMS_SPOOL_DIR') ?? join(stateHome, 'sms-agent', 'spool'),
    findingsLimit: /^[1-9][0-9]*$/.test(value('SMS_AGENT_FINDINGS_LIMIT') ?? '')
      ? Number(value('SMS_AGENT_FINDINGS_LIMIT'))
      : undefined,
  };
}
