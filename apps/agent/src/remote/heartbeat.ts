/**
 * The line a remote `sms-agent manifest --heartbeat` writes on stderr, at most four times a
 * second while its work moves; verify over ssh counts it as progress for `--io-timeout`, and
 * leaves it out of what the remote said.
 */
export const REMOTE_HEARTBEAT = 'sms-agent:progress';
