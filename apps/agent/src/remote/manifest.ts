import type { Readable } from 'node:stream';
import { throwIfInterrupted } from '../engine/interrupt.js';
import { ManifestReader } from '../engine/manifest/read.js';
import type { Mode } from '../engine/types.js';
import { AGENT_VERSION } from '../version.js';
import { selfCopy } from './self.js';
import { REMOTE_COMMAND_MAX_BYTES, type RemoteEvent, RemoteSession, remoteCommandOf } from './session.js';
import { RemoteError, type RemoteTarget } from './target.js';

export interface RemoteManifestOptions {
  target: RemoteTarget;
  /** The ssh command as words (default `ssh`). */
  ssh?: string[];
  remoteAgent?: string;
  /** The directories below the target to describe ('/'-separated; '' for the target itself). */
  dirs: string[];
  mode: Mode;
  excludes: string[];
  /**
   * `--workers` as given to verify: in content mode the remote agent's hashing threads too
   * (default: its own, by its cores). Not in quick mode, where the remote agent uses none on a
   * local disk (and this side none either): a number given would only add threads there.
   */
  workers?: number;
  signal?: AbortSignal;
  /** Told what the remote side does (`RemoteEvent`). */
  onRemote?: (event: RemoteEvent) => void;
  /** Ask the remote agent for its heartbeat (`manifest --heartbeat`), told as `progress`. */
  heartbeat?: boolean;
}

/** The target's manifest, made on the remote host by `sms-agent manifest` over ssh and read as it arrives. */
export async function openRemoteManifest(
  options: RemoteManifestOptions,
): Promise<{ reader: ManifestReader; session: RemoteSession }> {
  const { target } = options;
  // relative to the remote home, as rsync's host:path (the remote shell starts there)
  if (/^~[^/]/.test(target.path))
    throw new RemoteError(
      `--target ${target.display}: ~user is not expanded here: give the directory from / (host:/home/user/DIR), or relative to the login user's home (host:DIR)`,
    );
  let path = target.path.replace(/^~(\/|$)/, '');
  if (path === '') path = '.';
  if (path.startsWith('-')) path = `./${path}`;
  // --until-stdin-closes: sshd sends no signal when this side goes; the remote agent stops when its stdin closes
  const args = [
    'manifest',
    path,
    '--mode',
    options.mode,
    '--no-progress',
    '--output',
    '-',
    '--until-stdin-closes',
    ...(options.heartbeat ? ['--heartbeat'] : []),
  ];
  if (options.workers !== undefined && options.mode === 'content')
    args.push('--workers', String(options.workers));
  // always by --dir: a directory that is not there gets no block, and its files count as missing (as locally)
  for (const dir of options.dirs) args.push(`--dir=${dir === '' ? '.' : dir}`);
  // excludes go on the remote agent's command line, so that it skips what will not be compared; a
  // list too long for it (REMOTE_COMMAND_MAX_BYTES) is applied here only (the verifier excludes on
  // both sides either way)
  const withExcludes = [...args, ...options.excludes.map((pattern) => `--exclude=${pattern}`)];
  const fits =
    Buffer.byteLength(remoteCommandOf(options.remoteAgent, withExcludes)) <= REMOTE_COMMAND_MAX_BYTES;
  const { session, output } = await RemoteSession.start({
    target,
    ssh: options.ssh ?? ['ssh'],
    ...(options.remoteAgent === undefined ? {} : { remoteAgent: options.remoteAgent }),
    copy: selfCopy(),
    args: fits ? withExcludes : args,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onRemote ? { onRemote: options.onRemote } : {}),
  });
  try {
    const reader = await ManifestReader.fromStream(`the manifest from ${target.display}`, output);
    return { reader, session };
  } catch (error) {
    throwIfInterrupted(options.signal);
    throw await explain(session, output, error);
  }
}

/**
 * A manifest that could not be read: cut short (the session ended: ssh says
 * why), or one this agent cannot read (the remote agent is another version).
 */
export async function explain(session: RemoteSession, output: Readable, error: unknown): Promise<Error> {
  if (!(error instanceof Error) || error.name !== 'ManifestError') return error as Error;
  if (output.readableEnded) return session.failure('before the manifest was complete', error);
  session.close();
  return new RemoteError(
    `${error.message}; it came from ${session.agent} on ${session.destination}: install sms-agent ${AGENT_VERSION} there (or give --remote-agent PATH of that version)`,
  );
}
