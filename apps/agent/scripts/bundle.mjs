#!/usr/bin/env node
// Bundles the agent into the one file its package ships: dist/sms-agent.cjs, a CommonJS script with
// every dependency inlined (@sms/client, @sms/domain, valibot, ky, commander, and xxh128's
// WebAssembly from wasm/), so that `npm i -g` of the packed tarball needs nothing but Node.js 20+, and a copy of that one
// file sent to a remote host over ssh runs there whole. Its worker threads (verification, and
// manifests) start from code embedded in it as a string (new Worker(code, { eval: true })), as in
// the single executable: the worker is bundled first, as CommonJS (what an eval'd worker runs).
// CommonJS rather than an ES module: V8 keeps the code it compiled for a script between runs on
// every Node.js the package supports (bin/sms-agent.js: vm.Script's cachedData on Node.js 20,
// module.enableCompileCache on 22.1 and later), and for an ES module only on 22.1 and later.
// Rolldown does the bundling: it is already in the workspace (Vite, under Vitest, is built on it),
// runs on Node 20.19+, reads TypeScript itself, and writes one file with the dynamic imports inlined.
// Both are minified, as the executable's are: V8 reads the whole file at every start, and a minified
// bundle is half the size (an empty verify takes 12% fewer instructions, callgrind; a copy sent
// over ssh is half as long). Error messages do not change (each error class names itself, and the
// CLI prints messages, not stacks); the CLI's tests run this file.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleAgent } from './rolldown-agent.mjs';

const work = mkdtempSync(join(tmpdir(), 'sms-agent-bundle-'));
try {
  await bundleAgent('src/engine/worker.ts', join(work, 'worker.cjs'));
  const workerCode = readFileSync(join(work, 'worker.cjs'), 'utf8');
  await bundleAgent('src/main.ts', 'dist/sms-agent.cjs', {
    __SMS_AGENT_WORKER_CODE__: JSON.stringify(workerCode),
  });
} finally {
  rmSync(work, { recursive: true, force: true });
}
