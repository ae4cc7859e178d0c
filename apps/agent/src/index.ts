export { runEngine } from './engine/runner.js';
export type { Counts, Mode, ReportEntry } from './engine/types.js';
export { toConsistencyResult } from './upload/results.js';
export {
  type DirectoryResult,
  VerifyError,
  type VerifyOptions,
  type VerifyResult,
  verify,
} from './verify.js';
