#!/usr/bin/env node
// The bundle (scripts/bundle.mjs): the same file the published package runs. On Node.js 22.1 and
// later, V8's code for it is kept between runs (module.enableCompileCache: a faster start) in the
// user's own cache directory, $XDG_CACHE_HOME/sms-agent/compile-cache or
// ~/.cache/sms-agent/compile-cache, and only when each of those directories that exists belongs to
// this user and no one else can write to it: code read from a directory someone else controls (a
// shared /tmp, or the caller's home under sudo) would run as this user. Otherwise, or with
// NODE_DISABLE_COMPILE_CACHE=1, there is no cache; NODE_COMPILE_CACHE names another directory.
import { readFileSync, statSync } from 'node:fs';
import module from 'node:module';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

/** True when `dir` is this user's and only this user can write to it (or, if `missing` allows it, is not there yet). */
function onlyMine(dir, missing) {
  try {
    const stats = statSync(dir);
    return stats.isDirectory() && stats.uid === process.geteuid() && (stats.mode & 0o022) === 0;
  } catch (error) {
    return missing && error.code === 'ENOENT';
  }
}

// `sms-agent --version` alone (what a host reached over ssh is asked before each run, to tell
// whether the sms-agent on its PATH is this one) is answered without loading the bundle.
const args = process.argv.slice(2);
const versionOnly = args.length === 1 && (args[0] === '--version' || args[0] === '-V');
if (versionOnly) {
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`${version}\n`);
} else if (module.enableCompileCache && process.geteuid) {
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
  try {
    if (safe) module.enableCompileCache(dir);
  } catch {
    // without the cache the start is only slower
  }
}
if (!versionOnly) await import('../dist/sms-agent.js');
