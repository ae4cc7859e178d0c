#!/usr/bin/env node
// The end-to-end demo on the embedded default. It grows with the system: for
// now it builds every package and checks the API page's example upload with
// the domain schemas that the server, client and agent share.
import { spawnSync } from 'node:child_process';

const build = spawnSync('pnpm', ['exec', 'turbo', 'run', 'build'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const { UpdateConsistencyResultRequestSchema, deriveCheckResult, formatIssues } = await import('@sms/domain');
const v = await import('valibot');
const example = {
  consistency_result: [
    {
      dir_check: '/root/data',
      num_total_files: 1235,
      num_different_files: 12,
      num_target_miss_files: 12,
      num_target_more_files: 12,
    },
    {
      dir_check: '/var',
      num_total_files: 1235,
      num_different_files: 12,
      num_target_miss_files: 12,
      num_target_more_files: 12,
    },
  ],
};
const parsed = v.safeParse(UpdateConsistencyResultRequestSchema, example);
console.log(
  `the page's example upload: ${parsed.success ? 'valid' : formatIssues(parsed.issues)}, verdict ${deriveCheckResult(example.consistency_result)}`,
);
