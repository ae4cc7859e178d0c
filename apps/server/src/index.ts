export type { ConsistencyResult } from '@sms/domain';
