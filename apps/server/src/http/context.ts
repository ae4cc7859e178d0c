import type { BlockList } from 'node:net';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { AccessKeyService } from '../services/access-key-service.js';
import type { AuthService, Principal } from '../services/auth-service.js';
import type { ConfigurationService } from '../services/configuration-service.js';
import type { ConsistencyService } from '../services/consistency-service.js';
import type { DashboardService } from '../services/dashboard-service.js';
import type { FindingService } from '../services/finding-service.js';
import type { HealthService } from '../services/health-service.js';
import type { SignatureService } from '../services/signature-service.js';
import type { TaskService } from '../services/task-service.js';
import type { VerificationService } from '../services/verification-service.js';
import type { WebhookService } from '../services/webhook-service.js';

/** What the routes are given: services, never the environment. */
export interface AppDeps {
  health: HealthService;
  auth: AuthService;
  /** Requests signed with an access key (`Authorization: SDK-HMAC-SHA256 …`). */
  signatures: SignatureService;
  accessKeys: AccessKeyService;
  tasks: TaskService;
  consistency: ConsistencyService;
  /** Per-path findings (our extension). */
  findings: FindingService;
  /** A task's agent configuration (configuration-setting). */
  configurations: ConfigurationService;
  /** Verification requests: "Verify now", schedules, agents' daemons (ours). */
  verifications: VerificationService;
  /** A project's webhooks and the delivery of their events. */
  webhooks: WebhookService;
  dashboard: DashboardService;
  /** The time, for pages that say how long ago; tests move it. */
  clock?: () => number;
  logger: Logger;
  /** `SMS_METRICS=1`: requests are measured and `GET /metrics` serves them. */
  metrics?: Metrics;
  /** `SMS_TRUSTED_PROXIES`: peers whose `X-Forwarded-For` names the client (see `clientAddress`). */
  trustedProxies?: BlockList;
  /** True once shutdown began: new requests get 503. */
  isDraining?: () => boolean;
}

export type AppEnv = {
  Variables: {
    requestId: string;
    principal: Principal | undefined;
    /** The body, once read (see `readRawBody`). */
    rawBody: Uint8Array | undefined;
    deps: AppDeps;
  };
};
