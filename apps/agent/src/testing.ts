/**
 * `@sms/agent/testing`: what other packages' tests use to run the built agent and make trees for
 * it (the end-to-end tests), instead of importing this package's sources by path. A workspace
 * entry: the published tarball ships the agent only.
 */
export { AGENT_BIN, type AgentProcess, runAgent, startAgent } from './test-support/cli.js';
export { MTIME, type Node, type Tree, treePair, writeTree } from './test-support/tree.js';
