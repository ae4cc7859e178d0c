import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { afterAll, describe, expect, it } from 'vitest';
import { InterruptedError } from '../engine/interrupt.js';
import { REMOTE_COMMAND_MAX_BYTES, RemoteSession } from './session.js';
import { parseRemoteTarget, RemoteError } from './target.js';

/** A session whose "ssh" is `sh -c SCRIPT`: it ends as the script does, reaching nothing. */
function start(script: string, signal: AbortSignal) {
  return RemoteSession.start({
    target: parseRemoteTarget('host:/srv')!,
    ssh: ['sh', '-c', script, 'ssh'],
    copy: undefined,
    args: ['manifest'],
    signal,
  });
}

describe('a session that ssh ended', () => {
  it("ends interrupted when this process's own signal comes just after ssh died of it (a terminal's Ctrl-C reaches both)", async () => {
    const stop = new AbortController();
    // ssh dies of the group's SIGINT first (255); this process hears it a moment later
    const session = start('sleep 0.1; exit 255', stop.signal);
    setTimeout(() => stop.abort('SIGINT'), 250);
    const error = await session.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InterruptedError);
    expect((error as Error).message).toBe('interrupted by SIGINT');
  });

  it('is a failure naming ssh when no signal comes', async () => {
    const error = await start(
      'echo "ssh: connect to host host port 22: Connection refused" >&2; exit 255',
      new AbortController().signal,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as Error).message).toContain('Connection refused');
  });
});

describe("the remote command, through the remote user's login shell", () => {
  const dir = mkdtempSync(join(tmpdir(), 'sms-remote-words-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // the "agent" there: prints the arguments it was given, each ended by a NUL
  const agent = join(dir, 'print-args');
  writeFileSync(agent, '#!/bin/sh\nfor a in "$@"; do printf "%s\\0" "$a"; done\n');
  chmodSync(agent, 0o755);
  const args = ['manifest', '/srv/back\\two', "q\\'z", 'a\nb', '--exclude=*.[!c]', 'tab\tx', "it's", 'é', ''];

  it.each(['sh', 'bash', 'tcsh', 'fish'])(
    'reaches the agent with its arguments as they were under %s',
    async (shell) => {
      // "ssh" runs the remote command as sshd does: the login shell's -c
      const { session, output } = await RemoteSession.start({
        target: parseRemoteTarget('host:/srv')!,
        ssh: ['sh', '-c', `exec ${shell} -c "$3"`, 'ssh'],
        remoteAgent: agent,
        copy: undefined,
        args,
      });
      expect((await text(output)).split('\0').slice(0, -1)).toEqual(args);
      await session.done();
    },
  );

  it('is refused, saying what to do, when it is longer than one command line takes', async () => {
    const dirs = Array.from(
      { length: 200 },
      (_, i) => `--dir=/srv/${String(i).padStart(4, '0')}/${'x'.repeat(1000)}`,
    );
    const error = await RemoteSession.start({
      target: parseRemoteTarget('host:/srv')!,
      ssh: ['true'],
      copy: undefined,
      args: ['manifest', ...dirs],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as Error).message).toContain(
      `more than one ssh command line takes (${REMOTE_COMMAND_MAX_BYTES / 1024} KiB): give fewer or shorter --dir`,
    );
  });
});
