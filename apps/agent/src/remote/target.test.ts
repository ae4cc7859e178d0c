import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  DECODE_REMOTE_WORDS,
  displayAt,
  parseRemoteTarget,
  remoteWord,
  shellQuote,
  splitCommand,
} from './target.js';

describe('--target on another host', () => {
  it.each([
    ['host:/srv/data', { destination: 'host', path: '/srv/data', display: 'host:/srv/data' }],
    ['root@10.0.0.5:/srv', { destination: 'root@10.0.0.5', path: '/srv', display: 'root@10.0.0.5:/srv' }],
    ['host:data', { destination: 'host', path: 'data', display: 'host:data' }],
    ['host:', { destination: 'host', path: '', display: 'host:' }],
    ['[::1]:/srv', { destination: '::1', path: '/srv', display: '[::1]:/srv' }],
    ['me@[fe80::1%eth0]:x', { destination: 'me@fe80::1%eth0', path: 'x', display: 'me@[fe80::1%eth0]:x' }],
    [
      'ssh://[::1]:2222/srv',
      { destination: '::1', port: 2222, path: '/srv', display: 'ssh://[::1]:2222/srv' },
    ],
    ['ssh://h:2222/~/data', { destination: 'h', port: 2222, path: 'data', display: 'ssh://h:2222/~/data' }],
    ['ssh://h:2222', { destination: 'h', port: 2222, path: '', display: 'ssh://h:2222' }],
    ['ssh://host/srv/data', { destination: 'host', path: '/srv/data', display: 'host:/srv/data' }],
    [
      'ssh://me@host:2222/srv/a%20b',
      { destination: 'me@host', port: 2222, path: '/srv/a b', display: 'ssh://me@host:2222/srv/a b' },
    ],
    ['ssh://host/~/data', { destination: 'host', path: 'data', display: 'host:data' }],
    ['ssh://host', { destination: 'host', path: '', display: 'host:' }],
    // a user name with an @ of its own (a directory's: user@corp.example): ssh splits at the last
    [
      'me@corp.example@host:/srv',
      { destination: 'me@corp.example@host', path: '/srv', display: 'me@corp.example@host:/srv' },
    ],
    [
      'ssh://me%40corp.example@host/srv',
      { destination: 'me@corp.example@host', path: '/srv', display: 'me@corp.example@host:/srv' },
    ],
    [
      'ssh://[fe80::1%25eth0]:22/x',
      { destination: 'fe80::1%eth0', port: 22, path: '/x', display: 'ssh://[fe80::1%25eth0]:22/x' },
    ],
    // rsync's form with a slash too many (host:/path built as "$host:/$dir"), not a scheme
    ['nas01://backup', { destination: 'nas01', path: '//backup', display: 'nas01://backup' }],
  ])('%s is a remote target', (value, expected) => {
    expect(parseRemoteTarget(value)).toEqual(expected);
  });

  it.each(['/srv/data', './a:b', 'dir/x:y', 'relative', '/mnt/host:path'])(
    '%s is a local directory (a slash before the colon, as rsync)',
    (value) => {
      expect(parseRemoteTarget(value)).toBeUndefined();
    },
  );

  it.each([
    ['ho st:/x', 'is not a host name'],
    ['my dir:x', 'a local directory whose name has a colon: ./NAME'],
    ['a@b@:/x', 'is not a host name'],
    ['ssh://me%zz@host/x', 'the user or host has a bad %-escape'],
    ['user@:/x', 'is not a host name'],
    ['us er@host:/x', 'is not a user name'],
    ['ssh://host:0/x', 'the port must be 1..65535'],
    ['ssh://host:65536/x', 'the port must be 1..65535'],
    ['ssh:///x', 'no host'],
    ['ssh://host/%zz', 'bad %-escape'],
    ['-oProxyCommand=x:/y', 'is not a host name'],
    ['ssh://host/~root/data', '~user is not expanded here'],
    ['ssh://host/~root', '~user is not expanded here'],
    ['SSH://host/srv', 'SSH:// is not a way this agent reaches a target'],
    ['rsync://host/module', 'rsync:// is not a way'],
  ])('%s is refused: %s', (value, message) => {
    expect(() => parseRemoteTarget(value)).toThrow(message);
  });

  it.each([
    ['host:/srv', '/srv/a', 'host:/srv/a', 'host'],
    ['me@[::1]:/srv', '/srv/a', 'me@[::1]:/srv/a', 'me@[::1]'],
    ['ssh://[::1]:2222/srv', '/srv/a', 'ssh://[::1]:2222/srv/a', 'ssh://[::1]:2222'],
    ['ssh://h:2222/~/x', 'x/a', 'ssh://h:2222/~/x/a', 'ssh://h:2222'],
    ['host:', 'a', 'host:a', 'host'],
  ])('%s names %s on its host as %s (and the host as %s)', (value, path, named, host) => {
    const target = parseRemoteTarget(value)!;
    expect(displayAt(target, path)).toBe(named);
    expect(displayAt(target, '')).toBe(host);
  });

  it('names a path on a target made by hand (no display of its own) by its destination', () => {
    expect(displayAt({ destination: 'me@h', path: '/x', display: '' }, '/x/y')).toBe('me@h:/x/y');
  });

  it.each([
    'ssh://me@h:2222/srv',
    'ssh://h:2222/~/data',
    'ssh://h:2222',
    'ssh://[::1]:22/x',
    'ssh://h:2222/data/100%25',
    'ssh://h:2222/a%2520b',
    'nas01://backup',
    'ssh://me%40corp@h:2222/srv',
    'ssh://[fe80::1%25eth0]:22/x',
    'me@h:/srv',
    'h:data',
  ])('%s is named so that its name given back as --target is the same target', (value) => {
    const target = parseRemoteTarget(value)!;
    expect(parseRemoteTarget(target.display)).toEqual(target);
  });

  it('accepts the port at both edges of its range', () => {
    expect(parseRemoteTarget('ssh://h:1/x')?.port).toBe(1);
    expect(parseRemoteTarget('ssh://h:65535/x')?.port).toBe(65535);
  });
});

describe('--ssh, split as rsync -e', () => {
  it.each([
    ['ssh', ['ssh']],
    ['ssh -p 2222 -i key', ['ssh', '-p', '2222', '-i', 'key']],
    [`ssh -i "my key" -o 'ProxyJump=a b'`, ['ssh', '-i', 'my key', '-o', 'ProxyJump=a b']],
    ['ssh -o A=b\\ c', ['ssh', '-o', 'A=b c']],
    [`ssh ""`, ['ssh', '']],
  ])('%s', (value, words) => {
    expect(splitCommand(value)).toEqual(words);
  });

  it('refuses an unclosed quote and an empty command', () => {
    expect(() => splitCommand(`ssh -i 'key`)).toThrow('a quote is not closed');
    expect(() => splitCommand('   ')).toThrow('--ssh is empty');
  });
});

describe('the remote command line', () => {
  it('quotes what a POSIX shell would change', () => {
    expect(shellQuote('plain/path-1.x')).toBe('plain/path-1.x');
    expect(shellQuote("it's $HOME *")).toBe(`'it'\\''s $HOME *'`);
    expect(shellQuote('')).toBe(`''`);
    expect(shellQuote('*.[!c]')).toBe(`'*.['\\!'c]'`);
  });

  it('gives each word of the remote command back as itself through a login shell of sh, bash, tcsh or fish, then sh', () => {
    // backslashes and quotes (fish reads \\ and \' inside single quotes), a newline (csh and tcsh
    // refuse it inside quotes, and ran what followed it as a command), control characters
    const words = [
      '/srv/back\\two',
      "q\\'z",
      'line\n--dir=/srv/new',
      'tab\tx',
      'bell\x07\x1f\x7f',
      '\\0134',
      '\\',
      "it's $HOME *",
      '*.[!c]',
      '!!',
      '-x',
      '',
      'é 日本',
      '%b\\c',
    ];
    const script = `${DECODE_REMOTE_WORDS}; for w in "$@"; do printf '%s|' "$w"; done`;
    const command = ['sh', '-c', shellQuote(script), 'x', ...words.map(remoteWord)].join(' ');
    for (const shell of ['sh', 'bash', 'tcsh', 'fish']) {
      const run = spawnSync(shell, ['-c', command], { encoding: 'utf8' });
      expect(run.error, `${shell} is not installed: scripts/install-ssh.sh installs it`).toBeUndefined();
      expect(`${run.stdout}${run.stderr}`, shell).toBe(words.map((w) => `${w}|`).join(''));
    }
  });

  it('gives each word back as itself through sh, bash and tcsh (a login shell some hosts have)', () => {
    const words = ['*.[!c]', 'a!b', '!!', '!$', "it's $HOME *", '-x', 'a b', '`id`', '"q"', 'tab\tx', 'é'];
    for (const shell of ['sh', 'bash', 'tcsh']) {
      for (const word of words) {
        const run = spawnSync(shell, ['-c', `printf '%s|' ${shellQuote(word)}`], { encoding: 'utf8' });
        expect(run.error, `${shell} is not installed: scripts/install-ssh.sh installs it`).toBeUndefined();
        expect(`${run.stdout}${run.stderr}`, `${shell}: ${word}`).toBe(`${word}|`);
      }
    }
  });
});
