#!/usr/bin/env node
// Runs the bundle (scripts/bundle.mjs): dist/sms-agent.cjs, the same file the published package
// ships. V8's code for it is kept between runs (a faster start: 20 to 25 ms less here on Node.js 20)
// in the user's own cache directory, $XDG_CACHE_HOME/sms-agent/compile-cache or
// ~/.cache/sms-agent/compile-cache, and only when each of those directories that exists belongs to
// this user and no one else can write to it: code read from a directory someone else controls (a
// shared /tmp, or the caller's home under sudo) would run as this user. Otherwise, or with
// NODE_DISABLE_COMPILE_CACHE=1, there is no cache.
// - Node.js 22.1 and later: module.enableCompileCache (NODE_COMPILE_CACHE names another directory).
// - Node.js 20, which has no compile cache: the bundle is compiled with vm.Script and the cachedData
//   an earlier run left in that directory. V8 itself checks only the length of the source (and its
//   own flags), so the file is named by what changes whenever the bundle does: its size, inode,
//   modification and change times to the nanosecond (a copy that keeps the modification time gets a
//   new change time), with the Node.js version, the V8 flags given (NODE_OPTIONS, node's own) and
//   the bundle's path, one for each kind of run (verify, manifest, run, the rest: each holds the code
//   its kind compiles). Where there was none, or V8 rejected it, the code of every function compiled
//   by the end of the run is written there as the process exits (a temporary file, synced, renamed
//   into place); the caches of earlier builds of the same bundle under this Node.js (under any V8
//   flags, written before this build existed) are removed then, and any cache neither read nor
//   written for 30 days (read: by its access time, which noatime mounts do not keep).
import {
  closeSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import module, { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

const BUNDLE = fileURLToPath(new URL('../dist/sms-agent.cjs', import.meta.url));
const UNUSED_MS = 30 * 24 * 3600 * 1000;

/** True when `dir` is this user's and only this user can write to it (or, if `missing` allows it, is not there yet). */
function onlyMine(dir, missing) {
  try {
    const stats = statSync(dir);
    return stats.isDirectory() && stats.uid === process.geteuid() && (stats.mode & 0o022) === 0;
  } catch (error) {
    return missing && error.code === 'ENOENT';
  }
}

/** The cache directory, when it is safe to use (see above); undefined otherwise. */
function cacheDirectory() {
  if (!process.geteuid) return undefined;
  const xdg = process.env.XDG_CACHE_HOME;
  const [base, ...below] =
    xdg && isAbsolute(xdg)
      ? [xdg, 'sms-agent', 'compile-cache']
      : [process.env.HOME || homedir(), '.cache', 'sms-agent', 'compile-cache'];
  let dir = base;
  let safe = onlyMine(base, false);
  for (const part of below) {
    dir = join(dir, part);
    safe = safe && onlyMine(dir, true);
  }
  return safe ? dir : undefined;
}

/** FNV-1a, 32 bits, in hex: a short name for a string (a path, flags), not a check of content. */
function shortHash(text) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(16).padStart(8, '0');
}

/**
 * Node.js 20: runs the bundle as Node runs a CommonJS module, compiled with the code cache in `dir`
 * kept for runs of `command` (the first argument).
 */
function runWithCodeCache(dir, command) {
  // the text and the facts that name its cache from one open file: a bundle replaced in between
  // would otherwise give the new build's name to the old text's code
  const fd = openSync(BUNDLE, 'r');
  let source;
  let stats;
  try {
    source = readFileSync(fd, 'utf8');
    stats = fstatSync(fd, { bigint: true });
  } finally {
    closeSync(fd);
  }
  let cache;
  let cachedData;
  if (dir) {
    const { size, ino, mtimeNs, ctimeNs } = stats;
    const flags = shortHash(`${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`);
    // a cache per kind of run: it holds the functions the run that made it compiled, and a verify,
    // a manifest (what a host reached over ssh runs) and the rest (help, config, spool) differ
    const kind = command === 'verify' || command === 'manifest' || command === 'run' ? command : 'other';
    // this bundle under this Node.js, whatever the flags; then the flags and the kind; then this build of it
    const install = `sms-agent-${shortHash(BUNDLE)}-${process.version}-${process.arch}-`;
    const build = `-${size}-${ino}-${mtimeNs}-${ctimeNs}.cache`;
    const builtMs = Number(ctimeNs / 1_000_000n);
    cache = { dir, install, build, builtMs, file: join(dir, `${install}${flags}-${kind}${build}`) };
    try {
      cachedData = readFileSync(cache.file);
    } catch {
      // none yet: this run makes it
    }
  }
  // the text Node compiles for a CommonJS module, so that the bundle runs as `node dist/sms-agent.cjs` runs it
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: BUNDLE,
    ...(cachedData ? { cachedData } : {}),
  });
  if (cache && (!cachedData || script.cachedDataRejected))
    process.once('exit', () => keepCodeCache(script, cache));
  const bundle = { exports: {} };
  script
    .runInThisContext()
    .call(bundle.exports, bundle.exports, createRequire(BUNDLE), bundle, BUNDLE, dirname(BUNDLE));
}

function keepCodeCache(script, { dir, install, build, builtMs, file: cacheFile }) {
  const temporary = `${cacheFile}.${process.pid}-${Math.random().toString(36).slice(2)}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const fd = openSync(temporary, 'wx', 0o600);
    try {
      writeFileSync(fd, script.createCachedData());
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, cacheFile);
  } catch {
    // without the cache the next start is only slower
    rmSync(temporary, { force: true });
    return;
  }
  const now = Date.now();
  for (const name of readdirSync(dir)) {
    const file = join(dir, name);
    if (!name.startsWith('sms-agent-') || file === cacheFile) continue;
    try {
      const { mtimeMs, atimeMs } = statSync(file);
      // another run's temporary file: only once it is clearly abandoned
      if (name.endsWith('.tmp')) {
        if (mtimeMs < now - 3600_000) rmSync(file, { force: true });
        continue;
      }
      // a cache of an earlier build of this bundle (under any V8 flags), written before this build
      // existed (not one a run of a newer build wrote, nor another host's sharing this home), or a
      // cache unused for 30 days
      const earlierBuild = name.startsWith(install) && !name.endsWith(build) && mtimeMs < builtMs;
      if (earlierBuild || Math.max(mtimeMs, atimeMs) < now - UNUSED_MS) rmSync(file, { force: true });
    } catch {
      // removed meanwhile by another run
    }
  }
}

// `sms-agent --version` alone (what a host reached over ssh is asked before each run, to tell
// whether the sms-agent on its PATH is this one) is answered without loading the bundle.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  // as every command: an output that cannot be written is exit 2 and a message, not a stack trace
  process.stdout.on('error', (error) => {
    process.stderr.write(`sms-agent: cannot write to standard output: ${error.code ?? error.message}\n`);
    process.exitCode = 2;
  });
  process.stdout.write(`${version}\n`);
} else if (module.enableCompileCache) {
  const dir = cacheDirectory();
  try {
    if (dir) module.enableCompileCache(dir);
  } catch {
    // without the cache the start is only slower
  }
  createRequire(import.meta.url)(BUNDLE);
} else {
  runWithCodeCache(process.env.NODE_DISABLE_COMPILE_CACHE ? undefined : cacheDirectory(), args[0]);
}
