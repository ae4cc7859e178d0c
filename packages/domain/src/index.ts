// JSON Schema generation lives at '@sms/domain/json-schema', so that importing the schemas does not load @valibot/to-json-schema.
export * from './auth/index.js';
export * from './auth-token/index.js';
export * from './configuration/index.js';
export * from './consistency-result/index.js';
export * from './credential/index.js';
export * from './error-codes/index.js';
export * from './error-response/index.js';
export * from './findings/index.js';
export * from './idempotency/index.js';
export * from './issues/index.js';
export * from './limits/index.js';
export * from './paths/index.js';
export * from './task/index.js';
export * from './task-id/index.js';
export * from './task-summary/index.js';
export * from './text/index.js';
export * from './verification/index.js';
