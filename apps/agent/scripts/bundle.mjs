#!/usr/bin/env node
// Bundles the agent into the files its package ships: dist/sms-agent.js (the CLI) and
// dist/worker.js (its verification worker), each one ES module with every dependency inlined
// (@sms/client, @sms/domain, valibot, ky, commander), so that `npm i -g` of the packed tarball
// needs nothing but Node.js 20+. Rolldown does the bundling: it is already in the workspace (Vite,
// under Vitest, is built on it), runs on Node 20.19+, reads TypeScript itself, and writes one ES
// module with the dynamic imports inlined.
import { readFileSync } from 'node:fs';
import { build } from 'rolldown';

const here = new URL('..', import.meta.url).pathname;
const { version } = JSON.parse(readFileSync(`${here}package.json`, 'utf8'));

for (const [input, file] of [
  ['src/bin.ts', 'dist/sms-agent.js'],
  ['src/engine/worker.ts', 'dist/worker.js'],
]) {
  await build({
    cwd: here,
    input,
    platform: 'node',
    tsconfig: 'tsconfig.json',
    transform: { define: { __SMS_AGENT_VERSION__: JSON.stringify(version) } },
    logLevel: 'warn',
    output: { file, format: 'esm', codeSplitting: false, minify: false },
  });
}
