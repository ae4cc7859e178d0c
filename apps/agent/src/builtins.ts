import { createRequire } from 'node:module';

/**
 * Node.js modules that only some runs need, loaded when first used rather than at start: a bundle's
 * `import` of a built-in module runs when the bundle loads, for every command. Measured on Node 20
 * (a fresh process, env -i): child_process, with net and dgram behind it, 3 ms (the ssh client);
 * crypto 2.6 ms (hashes, upload ids); worker_threads 1.5 ms (a walk's threads); fs/promises 1.1 ms
 * (opening a manifest); readline 0.6 ms (reading a manifest, the spool, a list); zlib (gzipped
 * manifests). Together about a fifth of the start of a verification of two small directories.
 * src/cli/startup.test.ts checks that such a verification loads none of them. Type-only imports
 * (`import type`) of these modules cost nothing: they are erased.
 */
export function childProcess(): typeof import('node:child_process') {
  return builtin('node:child_process');
}

export function crypto(): typeof import('node:crypto') {
  return builtin('node:crypto');
}

export function fsPromises(): typeof import('node:fs/promises') {
  return builtin('node:fs/promises');
}

export function readline(): typeof import('node:readline') {
  return builtin('node:readline');
}

export function tty(): typeof import('node:tty') {
  return builtin('node:tty');
}

export function workerThreads(): typeof import('node:worker_threads') {
  return builtin('node:worker_threads');
}

export function zlib(): typeof import('node:zlib') {
  return builtin('node:zlib');
}

/** The `require` of the fallback below, made at its first use. */
let fallback: NodeJS.Require | undefined;

/**
 * `process.getBuiltinModule` (Node.js 20.16 and later, 22.3 and later); on the other versions the
 * package runs on (21, and 22.0 to 22.2) a `require`, which is what it does there.
 */
function builtin<T>(id: string): T {
  if (typeof process.getBuiltinModule === 'function') return process.getBuiltinModule(id) as T;
  fallback ??= createRequire(import.meta.url);
  return fallback(id) as T;
}
