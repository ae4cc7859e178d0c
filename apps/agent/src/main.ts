import { main } from './cli/index.js';

// The entry of the agent's bundles, both CommonJS scripts (so no top-level await): the package's
// dist/sms-agent.cjs (scripts/bundle.mjs), which bin/sms-agent.js loads and a host reached over ssh
// runs as a copy, and the single executable's (scripts/build-exe.mjs). In an executable,
// process.argv[1] is the executable itself, as process.argv[0].
void main(process.argv.slice(2));
