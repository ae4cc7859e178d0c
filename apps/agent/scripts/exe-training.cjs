// Makes the V8 code cache of the single executable's bundle after a run of it (scripts/build-exe.mjs):
//   node exe-training.cjs BUNDLE CACHE ARGS...
// compiles BUNDLE (the CommonJS bundle already wrapped as a function: exactly the text the
// executable compiles) with the cache in CACHE if there is one (a previous run's), runs it with
// ARGS as the agent's arguments, and when the process exits writes the code of every function
// compiled by then, the cache's included, back to CACHE: runs one after the other add to it.
// Run it with the Node.js the executable is made of, in a clean environment.
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
const { Script } = require('node:vm');
const { isBuiltin } = require('node:module');

const [bundle, cache, ...args] = process.argv.slice(2);
const script = new Script(readFileSync(bundle, 'utf8'), {
  filename: 'sms-agent.js',
  ...(existsSync(cache) ? { cachedData: readFileSync(cache) } : {}),
});
if (script.cachedDataRejected) throw new Error(`${cache} was made by another Node.js: remove it`);
process.on('exit', () => writeFileSync(cache, script.createCachedData()));
// as in the executable, where process.argv[1] is the executable itself
process.argv = [process.execPath, process.execPath, ...args];
// as in the executable, whose require loads Node's built-in modules only
const builtin = (id) => {
  if (!isBuiltin(id))
    throw new Error(`the executable's bundle requires ${id}, which an executable cannot load`);
  return require(id);
};
script.runInThisContext().call(module.exports, exports, builtin, module, __filename, __dirname);
