import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A real OpenSSH server on a free port of 127.0.0.1, for this test run only. */
export interface Sshd {
  port: number;
  /** The Host name its client configuration gives it. */
  host: string;
  /** `--ssh` for the agent (and `-e` for rsync): ssh with this server's client configuration. */
  ssh: string;
  /** The client configuration file (HostName, Port, IdentityFile, known hosts, BatchMode). */
  config: string;
  /** The TMPDIR of its sessions: where a copied agent goes. */
  tmp: string;
  /** The directory holding its keys and configuration. */
  dir: string;
  stop(): Promise<void>;
}

export interface SshdOptions {
  /** PATH of its sessions (SetEnv); default: the system's. */
  path?: string;
  /** HOME of its sessions (SetEnv); default: the user's, from the password database. */
  home?: string;
}

const SSHD = '/usr/sbin/sshd';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts `sshd -D` as this (root) user with a generated host key and user key
 * (`StrictModes no`, `UsePAM no`, `Subsystem sftp internal-sftp`), and writes
 * a client configuration that reaches it as `host` with strict host key checking.
 */
export async function startSshd(options: SshdOptions = {}): Promise<Sshd> {
  if (!existsSync(SSHD))
    throw new Error(`${SSHD} is not installed: apt-get install openssh-server (the CI script does)`);
  const dir = mkdtempSync(join(tmpdir(), 'sms-sshd-'));
  const tmp = join(dir, 'session-tmp');
  mkdirSync(tmp);
  // sshd's privilege separation directory
  mkdirSync('/run/sshd', { recursive: true });
  for (const key of ['host_key', 'user_key'])
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, key)]);
  const port = await freePort();
  const env = [
    `TMPDIR=${tmp}`,
    ...(options.path ? [`PATH=${options.path}`] : []),
    ...(options.home ? [`HOME=${options.home}`] : []),
  ];
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${join(dir, 'user_key.pub')}`,
      'PidFile none',
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'Subsystem sftp internal-sftp',
      `SetEnv ${env.join(' ')}`,
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  const host = 'sms-test-host';
  writeFileSync(
    join(dir, 'known_hosts'),
    `[127.0.0.1]:${port} ${readFileSync(join(dir, 'host_key.pub'), 'utf8')}`,
  );
  const config = join(dir, 'ssh_config');
  writeFileSync(
    config,
    [
      `Host ${host}`,
      '  HostName 127.0.0.1',
      `  Port ${port}`,
      '  User root',
      `  IdentityFile ${join(dir, 'user_key')}`,
      '  IdentitiesOnly yes',
      '  StrictHostKeyChecking yes',
      `  UserKnownHostsFile ${join(dir, 'known_hosts')}`,
      '  BatchMode yes',
      '  LogLevel ERROR',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (log += text));
  // ready once it accepts a session
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      execFileSync('ssh', ['-F', config, host, 'true'], { stdio: 'pipe', timeout: 5000 });
      break;
    } catch (error) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`sshd did not start: ${log}\n${(error as { stderr?: Buffer }).stderr ?? ''}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    port,
    host,
    ssh: `ssh -F ${config}`,
    config,
    tmp,
    dir,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A directory of the shell tools a session needs (sh, mktemp, head, …) and no
 * node (nor the tools in `leaveOut`): as PATH of an sshd's sessions, a host without Node.js.
 */
export function pathWithoutNode(dir: string, leaveOut: string[] = []): string {
  const bin = join(dir, ['no-node-bin', ...leaveOut].join('-without-'));
  mkdirSync(bin, { recursive: true });
  for (const tool of [
    'sh',
    'bash',
    'env',
    'mktemp',
    'head',
    'dd',
    'wc',
    'cat',
    'chmod',
    'rm',
    'uname',
    'getconf',
    'tr',
  ]) {
    if (leaveOut.includes(tool)) continue;
    const path = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
    if (!existsSync(join(bin, tool))) symlinkSync(path, join(bin, tool));
  }
  return bin;
}

/** `remote` (a directory on this machine) mounted through this server with sshfs (FUSE). */
export function mountSshfs(sshd: Sshd, remote: string): { mountpoint: string; unmount(): void } {
  const mountpoint = mkdtempSync(join(tmpdir(), 'sms-sshfs-'));
  execFileSync('sshfs', ['-o', `ssh_command=ssh -F ${sshd.config}`, `${sshd.host}:${remote}`, mountpoint], {
    stdio: 'pipe',
    timeout: 20_000,
  });
  return {
    mountpoint,
    unmount() {
      execFileSync('fusermount', ['-u', mountpoint], { stdio: 'pipe' });
      rmSync(mountpoint, { recursive: true, force: true });
    },
  };
}
