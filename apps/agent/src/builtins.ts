/**
 * Node.js modules that only some commands need, loaded when first used rather than at start: a
 * bundle's `import` of a built-in module runs when the bundle loads, for every command (the ssh
 * client's `child_process`, with `net` and `dgram` behind it, and `zlib` for gzipped manifests
 * were a few milliseconds of every start). `process.getBuiltinModule` is in Node.js 20.16 and later
 * (the package needs 20.19).
 */
export function childProcess(): typeof import('node:child_process') {
  return process.getBuiltinModule('node:child_process');
}

export function zlib(): typeof import('node:zlib') {
  return process.getBuiltinModule('node:zlib');
}
