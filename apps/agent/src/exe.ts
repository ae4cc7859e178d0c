import { main } from './cli/index.js';

// The single executable's entry (scripts/build-exe.mjs): a CommonJS script, so no top-level await.
// In an executable, process.argv[1] is the executable itself, as process.argv[0].
void main(process.argv.slice(2));
