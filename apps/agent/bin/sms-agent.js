#!/usr/bin/env node
// The bundle (scripts/bundle.mjs): the same file the published package runs. On Node.js 22.1 and
// later, V8's code for it is kept between runs (module.enableCompileCache: a faster start) in the
// user's own cache directory, $XDG_CACHE_HOME/sms-agent or ~/.cache/sms-agent, never in a shared
// one such as /tmp, where someone else could leave code that would run as this user.
// NODE_COMPILE_CACHE names another directory; NODE_DISABLE_COMPILE_CACHE=1 turns it off.
import module from 'node:module';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

if (module.enableCompileCache) {
  const xdg = process.env.XDG_CACHE_HOME;
  const cache = xdg && isAbsolute(xdg) ? xdg : join(process.env.HOME || homedir(), '.cache');
  try {
    module.enableCompileCache(join(cache, 'sms-agent', 'compile-cache'));
  } catch {
    // without the cache the start is only slower
  }
}
await import('../dist/sms-agent.js');
