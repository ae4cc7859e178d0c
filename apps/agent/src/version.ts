import { readFileSync } from 'node:fs';

/** Set by the bundler (scripts/bundle.mjs): a bundle has no package.json beside its modules. */
declare const __SMS_AGENT_VERSION__: string | undefined;

/** The agent's version: the bundler's, or its package.json's. */
export const AGENT_VERSION: string =
  typeof __SMS_AGENT_VERSION__ === 'string'
    ? __SMS_AGENT_VERSION__
    : (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
        .version;
