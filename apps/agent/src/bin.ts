import { main } from './cli/index.js';

await main(process.argv.slice(2));
