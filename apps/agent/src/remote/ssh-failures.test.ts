import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_BIN, runAgent } from '../test-support/cli.js';
import { pathWithoutNode, type Sshd, startSshd } from '../test-support/sshd.js';
import { treePair } from '../test-support/tree.js';

// What an operator meets when a target over ssh cannot be verified: never a count, always exit 2
// with ssh's own words and what to do; and an interrupted run leaves nothing on the remote host.
const BUNDLE = fileURLToPath(new URL('../../dist/sms-agent.cjs', import.meta.url));

let sshd: Sshd;
let noNode: Sshd;
const pair = treePair({ a: '1', b: { c: '2' } }, { a: '1', b: { c: '2' } });

/** A copy of the client configuration with one line changed. */
function configWith(name: string, from: RegExp, to: string): string {
  const file = join(sshd.dir, name);
  writeFileSync(file, readFileSync(sshd.config, 'utf8').replace(from, to));
  return file;
}

/** An executable script on the remote host (this machine). */
function script(name: string, body: string): string {
  const file = join(sshd.dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

const verifyOver = (extra: string[], ssh = sshd.ssh, target = `${sshd.host}:${pair.dst}`) =>
  runAgent(['verify', '--source', pair.src, '--target', target, '--ssh', ssh, ...extra]);

beforeAll(async () => {
  sshd = await startSshd();
  // a host without Node.js: its sessions' PATH has the shell's tools and no node
  const bin = pathWithoutNode(pair.dir);
  noNode = await startSshd({ path: bin });
}, 30_000);
afterAll(async () => {
  await sshd?.stop();
  await noNode?.stop();
  pair.cleanup();
});

describe('a target over ssh that cannot be verified: exit 2, ssh’s message and what to do', () => {
  it('nothing listens on the port', async () => {
    const closed = execFileSync(process.execPath, [
      '-e',
      "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})",
    ])
      .toString()
      .trim();
    const run = await verifyOver([], sshd.ssh, `ssh://${sshd.host}:${closed}${pair.dst}`);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`ssh to ${sshd.host} failed before the agent ran there (exit status 255)`);
    expect(run.stderr).toContain('Connection refused');
    expect(run.stderr).toContain('nothing answers ssh there: check the host and the port');
  });

  it('authentication fails (a key the host does not know)', async () => {
    const key = join(sshd.dir, 'other_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const config = configWith('ssh_config_other_key', /IdentityFile .*/, `IdentityFile ${key}`);
    const run = await verifyOver([], `ssh -F ${config}`);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Permission denied');
    expect(run.stderr).toContain('authentication failed: check the user (user@host) and the key');
  });

  it('the host key is not the known one', async () => {
    const key = join(sshd.dir, 'impostor_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const known = join(sshd.dir, 'impostor_known_hosts');
    writeFileSync(known, `[127.0.0.1]:${sshd.port} ${readFileSync(`${key}.pub`, 'utf8')}`);
    const config = configWith('ssh_config_impostor', /UserKnownHostsFile .*/, `UserKnownHostsFile ${known}`);
    const run = await verifyOver([], `ssh -F ${config}`);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Host key verification failed');
    expect(run.stderr).toContain(`the host's key is not the one known for ${sshd.host}`);
  });

  it("gives ssh a connect timeout, keep-alives and, without a terminal, no prompts, after the operator's own options", async () => {
    const log = join(sshd.dir, 'ssh-args.log');
    // named ssh, as OpenSSH's client: it logs its arguments and runs the real one
    mkdirSync(join(sshd.dir, 'logging'), { recursive: true });
    const wrapper = script('logging/ssh', `printf '%s\\n' "$@" > ${log}\nexec /usr/bin/ssh "$@"`);
    const run = await verifyOver([], `${wrapper} ${sshd.ssh.replace(/^ssh /, '')} -o ConnectTimeout=7`);
    expect(run.code, run.stderr).toBe(0);
    const args = readFileSync(log, 'utf8').split('\n');
    const at = (value: string) => args.indexOf(value);
    for (const option of [
      'ConnectTimeout=30',
      'ServerAliveInterval=15',
      'ServerAliveCountMax=4',
      'BatchMode=yes',
    ])
      expect(args[at(option) - 1], option).toBe('-o');
    expect(at('-T')).toBeGreaterThan(0);
    // ssh keeps the first value of an option: the operator's --ssh comes first
    expect(at('ConnectTimeout=7')).toBeGreaterThan(0);
    expect(at('ConnectTimeout=7')).toBeLessThan(at('ConnectTimeout=30'));
    expect(at('--')).toBeGreaterThan(at('BatchMode=yes'));

    // a wrapper (sshpass -e ssh, say: BatchMode would refuse the password it feeds) gets none of them
    const other = script('ssh-wrapper', `printf '%s\\n' "$@" > ${log}\nexec /usr/bin/ssh "$@"`);
    const wrapped = await verifyOver([], `${other} ${sshd.ssh.replace(/^ssh /, '')}`);
    expect(wrapped.code, wrapped.stderr).toBe(0);
    const given = readFileSync(log, 'utf8').split('\n');
    expect(given).not.toContain('BatchMode=yes');
    expect(given).not.toContain('-T');
  });

  it('verifies through a host whose login shell is tcsh, an exclude with ! included', async () => {
    // ssh runs the remote command line with the user's login shell: here tcsh, on this machine
    const tcshHost = script('ssh-tcsh', 'for last; do :; done\nexec tcsh -c "$last"');
    const local = await runAgent([
      'verify',
      '--source',
      pair.src,
      '--target',
      pair.dst,
      '--exclude',
      '*.[!c]',
      '--json',
    ]);
    const run = await verifyOver(['--exclude', '*.[!c]', '--json'], tcshHost);
    expect(run.code, run.stderr).toBe(local.code);
    expect(JSON.parse(run.stdout).consistency_result).toEqual(JSON.parse(local.stdout).consistency_result);
    expect(run.stderr).not.toContain('Event not found');
  });

  it("ssh's configuration file cannot be used here: said, not taken for a failed login", async () => {
    const run = await verifyOver([], `ssh -F ${join(sshd.dir, 'no-such-config')}`);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("Can't open user config file");
    expect(run.stderr).toContain('ssh cannot use its configuration file on this machine');
    expect(run.stderr).not.toContain('authentication failed');
  });

  it('the ssh command does not exist', async () => {
    const run = await verifyOver([], '/nonexistent/ssh');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('cannot run /nonexistent/ssh');
    expect(run.stderr).toContain('ENOENT');
  });

  it('the remote agent fails', async () => {
    const failing = script('failing-agent', 'echo "error: the disk is on fire" >&2; exit 5');
    const run = await verifyOver(['--remote-agent', failing]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`the agent on ${sshd.host} (sms-agent at ${failing}) failed`);
    expect(run.stderr).toContain('exit status 5');
    expect(run.stderr).toContain('error: the disk is on fire');
  });

  it.each([
    ['ends without error', 'exit 0', 'ended without error'],
    ['is killed', 'kill -KILL $$', 'before the manifest was complete'],
  ])('the manifest is cut mid-way: the remote side %s', async (_name, end, message) => {
    const cut = script(
      `cut-agent-${end.length}`,
      `${process.execPath} ${BUNDLE} "$@" | head -c 250; sleep 0.2; ${end}`,
    );
    const run = await verifyOver(['--remote-agent', cut]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('without its end record: it was cut short');
    expect(run.stderr).toContain(message);
  });

  it('gives the remote agent the --workers given in content mode, and none when none is or in quick mode', async () => {
    const log = join(sshd.dir, 'workers-args.log');
    const logging = script(
      'logging-agent',
      `printf '%s\\n' "$@" >> '${log}'; exec '${process.execPath}' '${BUNDLE}' "$@"`,
    );
    for (const [mode, extra, passed] of [
      ['content', ['--workers', '3'], true],
      ['content', [], false],
      ['quick', ['--workers', '3'], false],
    ] as const) {
      writeFileSync(log, '');
      const run = await verifyOver(['--remote-agent', logging, '--mode', mode, '--json', ...extra]);
      expect(run.stderr).not.toContain('error');
      expect(JSON.parse(run.stdout).consistent).toBe(true);
      const args = readFileSync(log, 'utf8').split('\n');
      expect(args[0]).toBe('manifest');
      if (passed) expect(args.join(' ')).toContain('--workers 3');
      else expect(args, `${mode} ${extra.join(' ')}`).not.toContain('--workers');
    }
  });

  it('--remote-agent names no executable there', async () => {
    const run = await verifyOver(['--remote-agent', '/nonexistent/sms-agent']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      `--remote-agent /nonexistent/sms-agent: no such executable file on ${sshd.host}`,
    );
  });

  it('the bundle cannot be copied to a host without Node.js: use the executable', async () => {
    const run = await verifyOver([], noNode.ssh, `${noNode.host}:${pair.dst}`);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${noNode.host} has no sms-agent on its PATH and no Node.js`);
    expect(run.stderr).toContain('run the single executable (sms-agent-linux-x64) on this machine instead');
    expect(readdirSync(noNode.tmp)).toEqual([]);
  });

  it('ssh told to give the remote no stdin (-n): says so, not that ssh failed', async () => {
    const run = await verifyOver([], `${sshd.ssh} -n`);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`the agent on ${sshd.host} found its standard input closed`);
    expect(run.stderr).toContain('leave -n out of --ssh, or set StdinNull no');
  });

  it('a copy that arrives short says what the remote said (its disk is full)', async () => {
    // the remote's temporary directory on a filesystem smaller than the copy
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', sshd.tmp]);
    try {
      const run = await verifyOver([]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(
        /the copy of this agent arrived short \(\d+ bytes\): .*No space left on device/,
      );
      expect(readdirSync(sshd.tmp)).toEqual([]);
    } finally {
      execFileSync('umount', [sshd.tmp]);
    }
  });

  it('--ssh and --remote-agent without a remote target are usage errors', async () => {
    const run = await runAgent(['verify', '--source', pair.src, '--target', pair.dst, '--ssh', 'ssh']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--ssh is for a --target on another host');
  });

  it('--recheck over ssh is refused, saying what to do', async () => {
    const run = await verifyOver(['--recheck']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--recheck looks at the target again');
  });
});

describe('which agent runs there', () => {
  it('an sms-agent of another version on the remote PATH is said, and a copy of this one runs instead', async () => {
    const bin = join(sshd.dir, 'old-agent-bin');
    mkdirSync(bin, { recursive: true });
    // another program of that name may say more than a version
    writeFileSync(join(bin, 'sms-agent'), '#!/bin/sh\necho "sms-agent 0.0.1"\necho "(c) someone else"\n');
    chmodSync(join(bin, 'sms-agent'), 0o755);
    const old = await startSshd({ path: `${bin}:/usr/local/bin:/usr/bin:/bin` });
    try {
      const run = await verifyOver(['--json'], old.ssh, `${old.host}:${pair.dst}`);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toContain(
        `notice: sms-agent at ${join(bin, 'sms-agent')} on ${old.host} is version "sms-agent 0.0.1", not`,
      );
      expect(run.stderr).toContain('a copy of this agent runs there instead');
      expect(run.stderr).toMatch(/made on sms-test-host by a copy of this agent in /);
      expect(readdirSync(old.tmp)).toEqual([]);
    } finally {
      await old.stop();
    }
  });

  it('--remote-agent may name a command on the remote PATH', async () => {
    const bin = join(sshd.dir, 'named-agent-bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'my-sms-agent'), `#!/bin/sh\nexec ${process.execPath} ${BUNDLE} "$@"\n`);
    chmodSync(join(bin, 'my-sms-agent'), 0o755);
    const named = await startSshd({ path: `${bin}:/usr/local/bin:/usr/bin:/bin` });
    try {
      const run = await verifyOver(
        ['--remote-agent', 'my-sms-agent'],
        named.ssh,
        `${named.host}:${pair.dst}`,
      );
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toContain(`by sms-agent at ${join(bin, 'my-sms-agent')}`);
      const missing = await verifyOver(
        ['--remote-agent', 'no-such-agent'],
        named.ssh,
        `${named.host}:${pair.dst}`,
      );
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('--remote-agent no-such-agent: no such executable file');
    } finally {
      await named.stop();
    }
  });

  it('host:~user/DIR is refused, saying how to name the directory', async () => {
    const run = await verifyOver([], sshd.ssh, `${sshd.host}:~bob/data`);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('~user is not expanded here: give the directory from /');
  });
});

describe('an interrupted verification over ssh', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    '%s: exit %i, nothing uploaded, and the copied agent stops and is removed there',
    async (signal, code) => {
      // a 16 GiB sparse file takes the remote side seconds to hash
      const big = treePair({}, {});
      execFileSync('truncate', ['-s', '16G', join(big.src, 'huge')]);
      execFileSync('truncate', ['-s', '16G', join(big.dst, 'huge')]);
      try {
        const child = spawn(
          process.execPath,
          [
            AGENT_BIN,
            'verify',
            '--source',
            big.src,
            '--target',
            `${sshd.host}:${big.dst}`,
            '--ssh',
            sshd.ssh,
            '--mode',
            'content',
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let stderr = '';
        child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
        const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
        // the copy runs once its directory holds it
        const deadline = Date.now() + 20_000;
        while (!readdirSync(sshd.tmp).some((d) => existsSync(join(sshd.tmp, d, 'sms-agent.cjs')))) {
          if (Date.now() > deadline) throw new Error(`the agent was not copied: ${stderr}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
        child.kill(signal);
        expect(await exited).toBe(code);
        expect(stderr).toContain(`interrupted by ${signal}`);
        // the remote side hears the connection close, stops and removes its directory
        const gone = Date.now() + 10_000;
        while (readdirSync(sshd.tmp).length > 0 && Date.now() < gone)
          await new Promise((resolve) => setTimeout(resolve, 100));
        expect(readdirSync(sshd.tmp)).toEqual([]);
        // and no remote agent runs on
        // (pgrep exits 1 when it finds none)
        const running = spawnSync('pgrep', ['-f', sshd.tmp], { encoding: 'utf8' }).stdout;
        expect(running.trim()).toBe('');
      } finally {
        big.cleanup();
      }
    },
    60_000,
  );
});
