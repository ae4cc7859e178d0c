export type {
  ConsistencyResult,
  ShowConsistencyResultResponse,
  UpdateConsistencyResultRequest,
} from '@sms/domain';
