import { describe, expect, it } from 'vitest';
import { InterruptedError } from '../engine/interrupt.js';
import { RemoteSession } from './session.js';
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
