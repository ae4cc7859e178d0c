#!/usr/bin/env node
// Builds dist/sms-agent-linux-x64: a Node.js single executable application, for migration hosts
// without Node. The agent and its worker are bundled as CommonJS (what a single executable runs on
// Node 20), the worker's bundle is embedded in the agent's as a string (a worker inside an
// executable starts from code: new Worker(code, { eval: true })), the bundle is run once on a small
// tree to make a V8 code cache of the functions a verification runs (scripts/exe-training.cjs), the
// bundle and that cache are stored as assets of Node's SEA blob beside a small main script that
// compiles one with the other (scripts/exe-loader.cjs), and postject injects the blob into a copy
// of this Node binary.
//
//   pnpm --filter @sms/agent build:exe
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleAgent, agentVersion as version } from './rolldown-agent.mjs';

const here = new URL('..', import.meta.url).pathname;
const work = join(here, 'dist', 'exe');
const output = join(here, 'dist', `sms-agent-${process.platform}-${process.arch}`);
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

await bundleAgent('src/engine/worker.ts', join(work, 'worker.cjs'));
const workerCode = readFileSync(join(work, 'worker.cjs'), 'utf8');
await bundleAgent('src/main.ts', join(work, 'sms-agent.cjs'), {
  __SMS_AGENT_WORKER_CODE__: JSON.stringify(workerCode),
  __SMS_AGENT_EXE__: 'true',
});

// The executable compiles exactly this text with the cache made from it (a cache holds code by
// position in its source): the CommonJS bundle wrapped as the function Node would make of it.
const wrapped = join(work, 'sms-agent.js');
writeFileSync(
  wrapped,
  `(function (exports, require, module, __filename, __dirname) {${readFileSync(join(work, 'sms-agent.cjs'), 'utf8')}\n})`,
);
// Training: what an executable is most often run for, on a small tree with each kind of difference:
// verify (in JSON, as scripts and the benchmarks run it, and in words) and manifest (what a copy of
// the executable runs on a host reached over ssh).
const cache = join(work, 'sms-agent.cache');
const tree = mkdtempSync(join(tmpdir(), 'sms-agent-training-'));
try {
  for (const side of ['source', 'target']) {
    mkdirSync(join(tree, side, 'dir', 'sub'), { recursive: true });
    const files = {
      'same.txt': 'same',
      'dir/sub/differs.txt': side === 'source' ? 'a' : 'bb',
      [`only-${side}.txt`]: side,
    };
    for (const [name, text] of Object.entries(files)) {
      writeFileSync(join(tree, side, name), text);
      // one time for all: only the sizes differ, also when the writes straddle a second
      utimesSync(join(tree, side, name), 1_700_000_000, 1_700_000_000);
    }
  }
  const verify = ['verify', '--source', join(tree, 'source'), '--target', join(tree, 'target')];
  const runs = [
    { args: [...verify, '--json'], status: 1, says: '"num_different_files": 1' },
    { args: verify, status: 1, says: '1 different, 1 missing, 1 extra' },
    {
      args: ['manifest', join(tree, 'target'), '--output', '-', '--no-progress'],
      status: 0,
      says: '{"end":',
    },
  ];
  for (const { args, status, says } of runs) {
    const run = spawnSync(
      process.execPath,
      [join(here, 'scripts', 'exe-training.cjs'), wrapped, cache, ...args],
      // a clean environment: no NODE_OPTIONS (V8 flags the executable would not have), no settings
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tree }, encoding: 'utf8', timeout: 60_000 },
    );
    if (run.status !== status || !run.stdout.includes(says))
      throw new Error(
        `the training run sms-agent ${args.join(' ')} failed (exit ${run.status}): ${run.stderr}${run.stdout}`,
      );
  }
} finally {
  rmSync(tree, { recursive: true, force: true });
}

// what `--version` alone prints (scripts/exe-loader.cjs), as the bundle's own --version does
const versionFile = join(work, 'version');
writeFileSync(versionFile, version);
const config = join(work, 'sea-config.json');
const blob = join(work, 'sea-prep.blob');
writeFileSync(
  config,
  JSON.stringify({
    main: join(here, 'scripts', 'exe-loader.cjs'),
    output: blob,
    assets: { 'sms-agent.js': wrapped, 'sms-agent.cache': cache, version: versionFile },
    // the loader is a few lines; Node's cache of it would only warn when NODE_OPTIONS changes V8's flags
    useCodeCache: false,
    disableExperimentalSEAWarning: true,
  }),
);
execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: 'inherit' });
rmSync(output, { force: true });
copyFileSync(process.execPath, output);
chmodSync(output, 0o755);
execFileSync(
  process.execPath,
  [
    join(here, 'node_modules', 'postject', 'dist', 'cli.js'),
    output,
    'NODE_SEA_BLOB',
    blob,
    '--sentinel-fuse',
    'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
  ],
  { stdio: 'inherit' },
);
// a cache this Node would not use would only make every start slower: the build says so
const check = spawnSync(output, ['--help'], {
  env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SMS_AGENT_CODE_CACHE: 'check' },
  encoding: 'utf8',
});
if (check.status !== 0 || !check.stderr.includes('sms-agent code cache: used'))
  throw new Error(`${output} does not use its code cache (exit ${check.status}): ${check.stderr}`);
rmSync(work, { recursive: true, force: true });
console.log(`${output}: ${(statSync(output).size / 1024 ** 2).toFixed(1)} MiB (Node ${process.version})`);
