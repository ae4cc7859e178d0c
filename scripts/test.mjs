#!/usr/bin/env node
// Runs every package's tests through turbo (cached when nothing changed), then
// sums the packages' vitest JSON reports into one closing line:
// `N passed, N failed`. The sum is also written to .test-results/summary.json
// so that .ci/run can add up the runs on several Node versions.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const packageDirs = ['packages', 'apps', 'tests'].flatMap((group) =>
  readdirSync(join(root, group), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(root, group, entry.name, 'package.json')))
    .map((entry) => join(group, entry.name)),
);
const reportOf = (dir) => join(root, dir, '.test-results', 'vitest.json');

// A report left by an earlier run must not be counted again; turbo restores it on a cache hit.
for (const dir of packageDirs) rmSync(reportOf(dir), { force: true });

const turbo = spawnSync('pnpm', ['exec', 'turbo', 'run', 'test', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});

let passed = 0;
let failed = 0;
let skipped = 0;
const lines = [];
// The failed tests by name, so that the closing lines (often all a CI log shows) say which.
const failures = [];
const firstLine = (text) =>
  String(text ?? '')
    .split('\n')
    .find((line) => line.trim() !== '') ?? '';
for (const dir of packageDirs) {
  const name = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')).name;
  if (!existsSync(reportOf(dir))) {
    failed += 1;
    lines.push(`  ${name.padEnd(14)} no test report (the run did not finish): counted as 1 failed`);
    failures.push(`${name}: no test report (its run did not finish; its own output above says why)`);
    continue;
  }
  const report = JSON.parse(readFileSync(reportOf(dir), 'utf8'));
  // A test file that failed to load has no tests in it, but it is a failure.
  let brokenFiles = 0;
  for (const file of report.testResults) {
    const where = file.name.startsWith(root) ? file.name.slice(root.length) : file.name;
    if (file.status === 'failed' && file.assertionResults.length === 0) {
      brokenFiles++;
      failures.push(`${where}: did not load: ${firstLine(file.message)}`.slice(0, 300));
    }
    for (const test of file.assertionResults) {
      if (test.status !== 'failed') continue;
      failures.push(`${where} > ${test.fullName}: ${firstLine(test.failureMessages?.[0])}`.slice(0, 300));
    }
  }
  const pkgFailed = report.numFailedTests + brokenFiles;
  const pkgSkipped = report.numPendingTests + report.numTodoTests;
  passed += report.numPassedTests;
  failed += pkgFailed;
  skipped += pkgSkipped;
  lines.push(
    `  ${name.padEnd(14)} ${String(report.numPassedTests).padStart(4)} passed ${String(pkgFailed).padStart(3)} failed ${String(pkgSkipped).padStart(3)} skipped`,
  );
}

mkdirSync(join(root, '.test-results'), { recursive: true });
writeFileSync(
  join(root, '.test-results', 'summary.json'),
  JSON.stringify({ node: process.version, passed, failed, skipped, failures }),
);
console.log(`\nTests on Node ${process.version}:`);
for (const line of lines) console.log(line);
for (const failure of failures) console.log(`  failed: ${failure}`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(turbo.status !== 0 || failed > 0 ? 1 : 0);
