// The single executable's main script (scripts/build-exe.mjs): it compiles the agent's bundle,
// stored beside it as an asset, with the V8 code cache of a training run of that bundle, so that
// the functions a verification runs start compiled rather than being parsed and compiled at their
// first call (which was about a third of a start; Node's own `useCodeCache` caches only the script's
// top level). A cache this Node rejects (another V8, other flags) only makes the start slower:
// `SMS_AGENT_CODE_CACHE=check` says on stderr whether it was used (the build checks it).
// `--version` alone (what a host reached over ssh is asked before each run, to tell whether the
// sms-agent on its PATH is this one) is answered from the asset `version`, without the bundle.
const { getAsset } = require('node:sea');
const { Script } = require('node:vm');

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${getAsset('version', 'utf8')}\n`);
} else {
  const script = new Script(getAsset('sms-agent.js', 'utf8'), {
    filename: 'sms-agent.js',
    cachedData: Buffer.from(getAsset('sms-agent.cache')),
  });
  if (process.env.SMS_AGENT_CODE_CACHE === 'check')
    process.stderr.write(`sms-agent code cache: ${script.cachedDataRejected ? 'rejected' : 'used'}\n`);
  // called as Node calls a CommonJS module: `this` is module.exports
  script.runInThisContext().call(module.exports, exports, require, module, __filename, __dirname);
}
