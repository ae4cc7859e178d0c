export type {
  ConsistencyResult,
  CreateTaskRequest,
  ListTasksParams,
  ListTasksResponse,
  ShowConsistencyResultResponse,
  Task,
  UpdateConsistencyResultRequest,
} from '@sms/domain';
export {
  type RequestOptions,
  type SmsAccessKeyCredentials,
  SmsClient,
  type SmsClientOptions,
  type SmsCredentials,
  type UpdateConsistencyResultOptions,
} from './client.js';
export {
  isSmsApiError,
  isSmsClientError,
  isSmsForbiddenError,
  isSmsNetworkError,
  isSmsResponseError,
  isSmsValidationError,
  SmsApiError,
  type SmsApiErrorDetails,
  SmsClientError,
  SmsForbiddenError,
  SmsNetworkError,
  SmsResponseError,
  SmsValidationError,
} from './errors.js';
export { CLIENT_VERSION } from './version.js';
