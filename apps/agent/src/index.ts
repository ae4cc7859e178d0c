export { runEngine } from './engine/runner.js';
export type { Counts, Mode, ReportEntry } from './engine/types.js';
export {
  type DirectoryResult,
  toConsistencyResult,
  VerifyError,
  type VerifyOptions,
  type VerifyResult,
  verify,
} from './verify.js';
