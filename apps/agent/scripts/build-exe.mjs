#!/usr/bin/env node
// Builds dist/sms-agent-linux-x64: a Node.js single executable application, for migration hosts
// without Node. The agent and its worker are bundled as CommonJS (what a single executable runs on
// Node 20), the worker's bundle is embedded in the agent's as a string (a worker inside an
// executable starts from code: new Worker(code, { eval: true })), Node's SEA blob is prepared with
// the V8 code cache on (a faster start), and postject injects it into a copy of this Node binary.
//
//   pnpm --filter @sms/agent build:exe
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'rolldown';

const here = new URL('..', import.meta.url).pathname;
const { version } = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'));
const work = join(here, 'dist', 'exe');
const output = join(here, 'dist', `sms-agent-${process.platform}-${process.arch}`);
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

const bundle = async (input, file, define) =>
  build({
    cwd: here,
    input,
    platform: 'node',
    tsconfig: 'tsconfig.json',
    transform: { define: { __SMS_AGENT_VERSION__: JSON.stringify(version), ...define } },
    logLevel: 'warn',
    output: { file, format: 'cjs', codeSplitting: false, minify: true },
  });

await bundle('src/engine/worker.ts', join(work, 'worker.cjs'), {});
const workerCode = readFileSync(join(work, 'worker.cjs'), 'utf8');
// A single executable has no module loader for import(): a builtin imported dynamically fails at
// run time there (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING), so the sources import builtins statically.
const dynamicImport = (code) => /\bimport\(\s*["'`]/.exec(code);
await bundle('src/exe.ts', join(work, 'sms-agent.cjs'), {
  __SMS_AGENT_WORKER_CODE__: JSON.stringify(workerCode),
  __SMS_AGENT_EXE__: 'true',
});
for (const file of ['worker.cjs', 'sms-agent.cjs']) {
  const found = dynamicImport(readFileSync(join(work, file), 'utf8'));
  if (found)
    throw new Error(`${file} keeps a dynamic import(…) at ${found.index}: import node builtins statically`);
}

const config = join(work, 'sea-config.json');
const blob = join(work, 'sea-prep.blob');
writeFileSync(
  config,
  JSON.stringify({
    main: join(work, 'sms-agent.cjs'),
    output: blob,
    useCodeCache: true,
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
rmSync(work, { recursive: true, force: true });
console.log(`${output}: ${(statSync(output).size / 1024 ** 2).toFixed(1)} MiB (Node ${process.version})`);
