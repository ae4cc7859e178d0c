import type { ChildProcess } from 'node:child_process';
import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { childProcess, tty } from '../builtins.js';
import { InterruptedError, throwIfInterrupted } from '../engine/interrupt.js';
import { AGENT_VERSION } from '../version.js';
import { REMOTE_HEARTBEAT } from './heartbeat.js';
import { type AgentCopy, glibcRunsExecutable, nodeRunsBundle, unameOf } from './self.js';
import { DECODE_REMOTE_WORDS, RemoteError, type RemoteTarget, remoteWord, shellQuote } from './target.js';

export interface SessionOptions {
  target: RemoteTarget;
  /** The ssh command as words (`--ssh`; default `ssh`). */
  ssh: string[];
  /** The agent to run on the remote host (`--remote-agent`); default: `sms-agent` on its PATH, else a copy of this one. */
  remoteAgent?: string;
  /** What this agent can copy there when the remote has none. */
  copy: AgentCopy | undefined;
  /** The remote agent's arguments. */
  args: string[];
  /** Ends the session (the remote side stops and removes its copy). */
  signal?: AbortSignal;
  /** Told what the remote side does, as it happens (`RemoteEvent`). */
  onRemote?: (event: RemoteEvent) => void;
}

/**
 * What the remote side does: a copy of this agent starts and ends being sent (work on this side can
 * wait meanwhile), the agent runs there, and (`manifest --heartbeat`) its work moved.
 */
export type RemoteEvent = 'copying' | 'copied' | 'running' | 'progress';

/**
 * Runs on the remote host, in its POSIX shell: the agent named (or `sms-agent`
 * on the PATH) if there is one; otherwise it says what the host is, receives
 * a copy of this agent on its stdin into a private temporary directory, runs
 * it there and removes the directory when it ends, also on a signal or a cut
 * connection. Each `sms-agent:` line tells the local side what happens; the
 * agent's output follows them.
 */
const REMOTE_SCRIPT = [
  // the words as they were before remoteWord wrote them for the login shell
  DECODE_REMOTE_WORDS,
  'agent=$1; want=$2; shift 2',
  // --remote-agent: a path (~/ is the home), or a command on the PATH
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell, not a template
  'if [ -n "$agent" ]; then case $agent in "~/"*) agent="$HOME/${agent#"~/"}";; esac; case $agent in */*) a=; if [ -f "$agent" ] && [ -x "$agent" ]; then a=$agent; fi;; *) a=$(command -v "$agent" 2>/dev/null);; esac; if [ -z "$a" ]; then echo "sms-agent:missing"; exit 97; fi; echo "sms-agent:run $a"; exec "$a" "$@"; fi',
  // sms-agent on the PATH, if it is this version; another one is said, and a copy runs instead
  // (another program of that name may print lines, or never end: its first line, within 10 s)
  'if a=$(command -v sms-agent 2>/dev/null); then t=; if timeout 10 true 2>/dev/null; then t="timeout 10"; fi; v=$($t "$a" --version </dev/null 2>/dev/null | head -n 1); if [ "$v" = "$want" ]; then echo "sms-agent:run $a"; exec "$a" "$@"; fi; printf "sms-agent:other %s\\t%s\\n" "$a" "$v"; fi',
  'echo "sms-agent:need os=$(uname -s 2>/dev/null) arch=$(uname -m 2>/dev/null) node=$(node --version 2>/dev/null) libc=$(getconf GNU_LIBC_VERSION 2>/dev/null | tr " " "-")"',
  'read -r kind size || exit 98',
  'case $kind in exe|bundle|script) ;; *) exit 98;; esac',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell, not a template
  'd=$(mktemp -d "${TMPDIR:-/tmp}/sms-agent.XXXXXXXX") || { echo "sms-agent:no-temp ${TMPDIR:-/tmp}"; exit 97; }',
  `trap 'rm -rf "$d"' EXIT`,
  `trap 'exit 129' HUP`,
  `trap 'exit 130' INT`,
  `trap 'exit 143' TERM`,
  `trap 'exit 141' PIPE`,
  // the executable must be run from there: where /tmp is mounted noexec (hardened hosts), the
  // copy goes to a private directory in the home instead, found before anything is sent (and
  // where the home is noexec too, nothing is sent: said)
  // (x: 2 when the probe cannot be written there, a full disk say; 1 when it cannot be run)
  'x() { { printf "#!/bin/sh\\n" > "$d/probe" && chmod 700 "$d/probe"; } 2>/dev/null || return 2; "$d/probe" 2>/dev/null || return 1; }',
  'if [ "$kind" = exe ]; then x || { rm -rf "$d"; d=$(mktemp -d "$HOME/.sms-agent.XXXXXXXX") || { echo "sms-agent:no-temp $HOME"; exit 97; }; x; r=$?; if [ $r = 2 ]; then echo "sms-agent:no-temp $HOME"; exit 97; elif [ $r = 1 ]; then echo "sms-agent:noexec $HOME"; exit 97; fi; }; rm -f "$d/probe"; fi',
  // the bundle and the executable's script are both CommonJS scripts, run by the host's node
  'f="$d/sms-agent"; if [ "$kind" != exe ]; then f="$d/sms-agent.cjs"; fi',
  // a large copy (the executable) in 1 MiB blocks where dd fills them (GNU's, busybox's): head -c
  // moves 8 KiB at a time, a tenth of a second more for the executable's 95 MiB
  'if [ "$size" -ge 8388608 ] && dd if=/dev/null of=/dev/null iflag=fullblock 2>/dev/null; then { dd bs=1048576 count=$((size / 1048576)) iflag=fullblock 2>/dev/null && head -c $((size % 1048576)); } > "$f"; else head -c "$size" > "$f"; fi && [ "$(wc -c < "$f")" -eq "$size" ] || { echo "sms-agent:short $(wc -c < "$f")"; exit 96; }',
  'echo "sms-agent:copied $d"',
  'if [ "$kind" = exe ]; then chmod 700 "$f"; "$f" "$@"; else node "$f" "$@"; fi',
  // one line: csh and tcsh, a login shell on some hosts, refuse a newline inside quotes
].join('; ');

/**
 * The longest remote command line: it is one argument twice (of the local `ssh`, and of the remote
 * login shell's `-c`), and Linux takes at most 128 KiB in one (E2BIG); kept well under.
 */
export const REMOTE_COMMAND_MAX_BYTES = 120 * 1024;

/**
 * The command the remote login shell runs: the script, in `sh`, given the agent named (or none),
 * this agent's version and the agent's arguments (its $1, $2, …).
 */
export function remoteCommandOf(remoteAgent: string | undefined, args: readonly string[]): string {
  const words = [remoteAgent ?? '', AGENT_VERSION, ...args];
  return ['sh', '-c', shellQuote(REMOTE_SCRIPT), 'sms-agent-remote', ...words.map(remoteWord)].join(' ');
}

/** How long a session's failure waits for this process's own signal after ssh ended by one (see `failure`). */
const INTERRUPT_GRACE_MS = 250;

/** The end of a remote run: ssh's exit and what it and the remote said on stderr. */
interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Options the agent gives OpenSSH's `ssh` (the command `ssh` itself, not a wrapper such as
 * `sshpass -e ssh`) after the operator's own (`--ssh 'ssh -o …'` comes first, and ssh
 * keeps the first value of an option; these do override ~/.ssh/config): no terminal on the remote
 * (`-T`); a connection that cannot be made in 30 s fails; a host that stops answering mid-way is
 * given up after a minute (4 keep-alives 15 s apart) rather than after TCP's two hours; and, when
 * the agent's stdin is not a terminal (cron, systemd, `nohup … &`), no prompt (a password, an
 * unknown host key) that nobody can answer: ssh fails at once with its own message instead.
 */
const SSH_DEFAULTS = () => [
  '-T',
  '-o',
  'ConnectTimeout=30',
  '-o',
  'ServerAliveInterval=15',
  '-o',
  'ServerAliveCountMax=4',
  ...(tty().isatty(0) ? [] : ['-o', 'BatchMode=yes']),
];

/**
 * One ssh session that runs the agent on a remote host: `output` is the
 * remote agent's stdout once it runs (a manifest, streamed), `done()` checks
 * that it ended well, `close()` ends it (the remote side stops and cleans up).
 */
export class RemoteSession {
  /** How the remote agent runs: `sms-agent at PATH`, or `a copy of this agent`. */
  agent = '';
  private readonly child: ChildProcess;
  private readonly ended: Promise<Ended>;
  private stderr = '';
  /** The last line of stderr so far, until its newline comes. */
  private partial = '';
  private spawnError: Error | undefined;
  /** The remote agent started (after it was found or copied): a failure now is its own. */
  private running = false;
  private closed = false;

  private constructor(private readonly options: SessionOptions) {
    const [command, ...sshArgs] = options.ssh;
    const remoteCommand = remoteCommandOf(options.remoteAgent, options.args);
    const bytes = Buffer.byteLength(remoteCommand);
    if (bytes > REMOTE_COMMAND_MAX_BYTES)
      throw new RemoteError(
        `the command for the agent on ${options.target.destination} would be ${Math.ceil(bytes / 1024)} KiB, more than one ssh command line takes (${REMOTE_COMMAND_MAX_BYTES / 1024} KiB): give fewer or shorter --dir (verify the directories in several runs)`,
      );
    const port = options.target.port === undefined ? [] : ['-p', String(options.target.port)];
    this.child = childProcess().spawn(
      command!,
      [
        ...sshArgs,
        ...port,
        // OpenSSH's own options: not for a wrapper (sshpass feeds a password BatchMode would refuse)
        ...(basename(command!) === 'ssh' ? SSH_DEFAULTS() : []),
        '--',
        options.target.destination,
        remoteCommand,
      ],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    this.ended = new Promise((resolve) => {
      this.child.once('error', (error) => {
        this.spawnError = error;
        resolve({ code: null, signal: null });
      });
      this.child.once('close', (code, signal) => resolve({ code, signal }));
    });
    if (options.signal?.aborted) this.close();
    else options.signal?.addEventListener('abort', () => this.close(), { once: true });
    this.child.stdin!.on('error', () => {}); // ssh ended while a copy was sent: said by its exit
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (text: string) => {
      const lines = (this.partial + text).split('\n');
      // a line that never ends is kept as the tail of what was said, not whole
      this.partial = lines.pop()!.slice(-16_384);
      for (const line of lines) {
        // the remote agent's heartbeat is progress, not something it said (\r: through a terminal)
        if (line.replace(/\r$/, '') === REMOTE_HEARTBEAT) this.options.onRemote?.('progress');
        // the end of what ssh and the remote said is what explains a failure
        else this.stderr = `${this.stderr}${line}\n`.slice(-16_384);
      }
    });
  }

  /** Starts the session; resolves once the remote agent runs, with its stdout. */
  static async start(options: SessionOptions): Promise<{ session: RemoteSession; output: Readable }> {
    const session = new RemoteSession(options);
    try {
      return { session, output: await session.handshake() };
    } catch (error) {
      session.close();
      throwIfInterrupted(options.signal);
      throw error;
    }
  }

  private async handshake(): Promise<Readable> {
    const out = this.child.stdout!;
    const { display } = this.options.target;
    for (;;) {
      const line = await readLine(out);
      if (line === undefined) throw await this.failure('before the agent ran there');
      if (!line.startsWith('sms-agent:')) {
        throw new RemoteError(
          `${display}: the remote shell printed "${line.slice(0, 200)}" before the agent ran: a login script that writes to stdout gets in the way (as it does for rsync and scp); make it quiet for non-interactive shells`,
        );
      }
      const [status, ...rest] = line.slice('sms-agent:'.length).split(' ');
      const detail = rest.join(' ');
      if (status === 'run') {
        this.agent = `sms-agent at ${detail}`;
        this.running = true;
        this.options.onRemote?.('running');
        return out;
      }
      if (status === 'copied') {
        this.agent = `a copy of this agent in ${detail}${this.sent ? ` (${this.sent})` : ''}`;
        this.running = true;
        this.options.onRemote?.('running');
        return out;
      }
      if (status === 'missing')
        throw new RemoteError(
          `--remote-agent ${this.options.remoteAgent}: no such executable file on ${this.options.target.destination}: give the path of sms-agent there, or leave out --remote-agent to copy this agent there`,
        );
      if (status === 'short') {
        const said = await this.saidAtEnd();
        throw new RemoteError(
          `${display}: the copy of this agent arrived short (${detail} bytes)${said ? `: ${said}` : ''}: the connection was cut while it was sent, or the disk there is full ($TMPDIR, else /tmp, or the home where that is noexec): run again, or free space there, or install sms-agent there and give --remote-agent PATH`,
        );
      }
      if (status === 'noexec')
        throw new RemoteError(
          `${display}: programs cannot be run from the temporary directory ($TMPDIR, else /tmp) nor from the home ${detail} there (mounted noexec), so this executable cannot run there: ${
            nodeRunsBundle(this.remoteNode)
              ? `leave ${REMOTE_COPY} unset (its Node.js ${this.remoteNode} then runs this agent's JavaScript)`
              : 'install Node.js 20.19 or newer there (this agent then sends its JavaScript)'
          }, or set TMPDIR there to a directory programs may run from, or install sms-agent there and give --remote-agent PATH`,
        );
      if (status === 'no-temp') {
        const said = await this.saidAtEnd();
        throw new RemoteError(
          `${display}: cannot make a temporary directory in ${detail} to copy the agent to${said ? ` (${said})` : ''}: set TMPDIR there, or install sms-agent there and give --remote-agent PATH`,
        );
      }
      if (status === 'other') {
        // its path, a tab, and the first line its --version printed (either may hold blanks)
        const tab = detail.indexOf('\t');
        const path = tab < 0 ? detail : detail.slice(0, tab);
        const version = tab < 0 ? '' : detail.slice(tab + 1).trim();
        this.notes.push(
          `sms-agent at ${path} on ${this.options.target.destination} is ${version ? `version ${JSON.stringify(version.slice(0, 100))}` : 'not a working sms-agent'}, not ${AGENT_VERSION}: a copy of this agent runs there instead`,
        );
        continue;
      }
      if (status === 'need') this.send(detail);
      else
        throw new RemoteError(`${display}: the remote side said "${line}", which this agent does not know`);
    }
  }

  /** The remote has no agent: send this one, if the host can run it. */
  private send(host: string): void {
    const facts = Object.fromEntries(
      host
        .split(' ')
        .map((pair) => pair.split('='))
        .map(([key, ...value]) => [key!, value.join('=')]),
    ) as Record<string, string | undefined>;
    const { os: system = '', arch: machine = '', node = '', libc = '' } = facts;
    this.remoteNode = node;
    const { copy } = this.options;
    const where = this.options.target.destination;
    const refuse = (why: string): never => {
      this.child.stdin!.end('none\n');
      throw new RemoteError(why);
    };
    const install = 'install sms-agent there and give --remote-agent PATH';
    // said wrong, the setting is refused whatever the host has
    const javaScript = copy?.kind === 'exe' && sendsJavaScript();
    if (!copy)
      refuse(
        `${where} has no sms-agent on its PATH and this agent runs from its sources, so it has no file to copy there: build it (pnpm build), or give --remote-agent PATH`,
      );
    else if (copy.kind === 'exe' && javaScript && nodeRunsBundle(node)) {
      // the host's Node.js runs the JavaScript inside the executable: 0.4 MiB to send, not 95
      this.sent = `its JavaScript, run there by Node.js ${node}`;
      this.transfer('script', copy.script());
      return;
    } else if (copy.kind === 'exe') {
      const wanted = unameOf(copy.platform, copy.arch);
      if (`${system} ${machine}` !== wanted)
        refuse(
          `${where} is ${system || 'an unknown system'} ${machine} and has no sms-agent on its PATH; this executable is for ${wanted}: ${install}, or install Node.js 20.19 or newer there (this executable then sends it its JavaScript)`,
        );
      if (copy.platform === 'linux' && !glibcRunsExecutable(libc))
        refuse(
          `${where} has ${libc ? libc.replace('-', ' ') : 'no GNU C library (musl, as on Alpine?)'} and no sms-agent on its PATH; this executable needs glibc 2.28 or newer (as Node.js 20 does): ${install}${nodeRunsBundle(node) ? ` (${REMOTE_COPY} made this executable send itself rather than its JavaScript, which that host's Node.js ${node} would run)` : ', or install Node.js 20.19 or newer there (this executable then sends it its JavaScript)'}`,
        );
    } else if (!nodeRunsBundle(node))
      refuse(
        `${where} has no sms-agent on its PATH and ${node ? `its Node.js is ${node}` : 'no Node.js'}, too old to run a copy of this agent (the npm package needs Node.js 20.19 or newer): run the single executable (sms-agent-linux-x64) on this machine instead, which needs no Node.js there, or ${install}`,
      );
    this.transfer(copy!.kind, copy!.file);
  }

  /** Sends a copy of this agent: a file, or the bytes of one. */
  private transfer(kind: 'exe' | 'bundle' | 'script', what: string | Buffer): void {
    this.copied = kind;
    this.sending = true;
    this.options.onRemote?.('copying');
    const sent = () => {
      this.sending = false;
      this.options.onRemote?.('copied');
    };
    // stdin stays open after the copy: the remote agent stops as soon as it closes (this side ended)
    const stdin = this.child.stdin!;
    if (typeof what !== 'string') {
      stdin.write(`${kind} ${what.length}\n`);
      stdin.write(what, sent);
      return;
    }
    stdin.write(`${kind} ${statSync(what).size}\n`);
    const payload = createReadStream(what, { highWaterMark: 1024 * 1024 });
    payload.once('close', sent);
    payload.pipe(stdin, { end: false });
  }

  /** The remote host's Node.js version (`node --version`), as it said before a copy was sent; '' for none. */
  private remoteNode = '';

  /** What of this agent was sent, when not the file it runs from (said in `agent`). */
  private sent = '';
  /** The kind of copy sent, if one was. */
  private copied: 'exe' | 'bundle' | 'script' | undefined;

  /** A copy of this agent is being sent. */
  sending = false;
  /** What the operator should know of how the remote side runs (said as notices). */
  readonly notes: string[] = [];

  get destination(): string {
    return this.options.target.destination;
  }

  /** Resolves when the session ended well; otherwise rejects with what happened. */
  async done(): Promise<void> {
    const ended = await this.ended;
    if (ended.code !== 0) throw await this.failure('');
  }

  /**
   * What went wrong, from ssh's exit and stderr: `when` says when (empty: at
   * the end). A manifest cut short is explained by the session that carried it.
   */
  async failure(when: string, cause?: Error): Promise<RemoteError | InterruptedError> {
    const ended = await Promise.race([
      this.ended,
      new Promise<Ended>((resolve) => setTimeout(() => resolve({ code: null, signal: null }), 5000).unref()),
    ]);
    // a terminal's Ctrl-C (SIGINT to the whole process group) ends ssh too (255, or by the signal),
    // perhaps heard here before this process's own handler ran: a short wait for it, so that the
    // run ends interrupted (130) rather than with "the connection ended… check the network"
    const { signal } = this.options;
    if (signal && !signal.aborted && (ended.signal !== null || ended.code === 255))
      await new Promise((resolve) => setTimeout(resolve, INTERRUPT_GRACE_MS));
    if (signal?.aborted) return new InterruptedError(String(signal.reason));
    const { display, destination } = this.options.target;
    const said = this.said();
    if (this.spawnError) {
      return new RemoteError(
        `cannot run ${this.options.ssh[0]} to reach ${display}: ${(this.spawnError as NodeJS.ErrnoException).code ?? this.spawnError.message}: install the OpenSSH client, or name it with --ssh`,
      );
    }
    const status =
      ended.signal !== null
        ? `ended by ${ended.signal}`
        : ended.code === null
          ? 'still running'
          : `exit status ${ended.code}`;
    const context = `${when ? ` ${when}` : ''}${cause ? ` (${cause.message})` : ''}`;
    // the remote side found its stdin at its end while this side still ran: ssh was told not to
    // pass it on (-n, or StdinNull in its configuration), and the agent sends its copy and its stop
    // through it (the remote shell's read of the copy's size exits 98)
    if (!this.closed && ((!this.running && ended.code === 98) || /the end of stdin/.test(said)))
      return new RemoteError(
        `the agent on ${destination} found its standard input closed${context} (${status})${said ? `: ${said}` : ''}: ssh gives it none with -n (or StdinNull yes in its configuration), and this agent sends its copy and its stop through it: leave -n out of --ssh, or set StdinNull no for ${destination}`,
      );
    if (this.running && (ended.code === 255 || ended.signal !== null))
      return new RemoteError(
        `the connection to ${destination} ended${context} (${status})${said ? `: ${said}` : ''}: run again; if it ends again, check the network and that nothing stops the agent there`,
      );
    if (ended.code === 255 || !this.running) {
      return new RemoteError(
        `ssh to ${destination} failed${context} (${status})${said ? `: ${said}` : ''}: ${sshHint(said, destination)}`,
      );
    }
    if (ended.code === 0 && cause)
      return new RemoteError(
        `${cause.message.replace(/: make it again$/, '')}: the agent on ${destination} (${this.agent}) ended without error${said ? ` saying: ${said}` : ''}; run again`,
      );
    if (ended.code === 127 && this.copied === 'exe')
      return new RemoteError(
        `the copy of this agent could not start on ${destination} (${status})${said ? `: ${said}` : ''}: its C library or loader is not one it runs with: install sms-agent there and give --remote-agent PATH`,
      );
    if (/unknown option|error: too many arguments/.test(said) && this.agent.startsWith('sms-agent at'))
      return new RemoteError(
        `the agent on ${destination} (${this.agent}) does not know what this one asks of it (${status}): ${said}: install sms-agent ${AGENT_VERSION} there, or leave out --remote-agent so that a copy of this agent runs`,
      );
    if (ended.code === 126 && this.copied === 'exe')
      return new RemoteError(
        `the copy of this agent could not be run on ${destination} (${status})${said ? `: ${said}` : ''}: its temporary directory (in $TMPDIR or /tmp, or in the home where that is mounted noexec) may be on a noexec mount too: install sms-agent there and give --remote-agent PATH`,
      );
    // the host's Node.js may not run it (NODE_OPTIONS, a wrapper named node): the executable itself would
    const instead =
      this.copied === 'script'
        ? `; if Node.js there cannot run it, ${REMOTE_COPY} sends the executable instead`
        : '';
    return new RemoteError(
      `the agent on ${destination} (${this.agent}) failed${context} (${status})${said ? `: ${said}` : ''}${cause ? ': run again; if it fails again, run the same sms-agent manifest there by hand to see why' : ''}${instead}`,
    );
  }

  /** What ssh and the remote said, once the session ended (at most 2 s later: the remote side's last words follow its stdout's). */
  private async saidAtEnd(): Promise<string> {
    await Promise.race([this.ended, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    return this.said();
  }

  /** What ssh and the remote said on stderr, on one line, without the agent's own prefix twice. */
  private said(): string {
    return `${this.stderr}${this.partial}`
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '')
      .slice(-6)
      .join(' / ');
  }

  /** Ends the session (if it has not ended): the remote side stops at its next write and removes its copy. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    // its stdout then ends, so that a reader waiting on it ends too
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
  }

  /** Resolves once ssh has exited (after `close`). */
  async exited(): Promise<void> {
    await this.ended;
  }
}

/** Set in the environment, this makes the executable send itself to a host with Node.js too. */
const REMOTE_COPY = 'SMS_AGENT_REMOTE_COPY=executable';

/**
 * Whether the executable sends a host with Node.js its JavaScript (the default) rather than itself
 * (`SMS_AGENT_REMOTE_COPY=executable`: for a host whose Node.js cannot run it).
 */
function sendsJavaScript(): boolean {
  const value = process.env.SMS_AGENT_REMOTE_COPY;
  if (value === undefined || value === '' || value === 'auto') return true;
  if (value === 'executable') return false;
  throw new RemoteError(
    `SMS_AGENT_REMOTE_COPY=${value}: give executable (to send the executable itself to a host with Node.js too) or auto, or leave it unset`,
  );
}

function sshHint(said: string, destination: string): string {
  // ssh's own files on this machine, before it connects (their "Permission denied" is no login's)
  if (/Can't open user config file|Bad owner or permissions on/i.test(said))
    return "ssh cannot use its configuration file on this machine (ssh -F FILE, else ~/.ssh/config): check that it exists, is this user's and is not writable by others (chmod 600)";
  if (/Connection refused/i.test(said))
    return 'nothing answers ssh there: check the host and the port (ssh://host:PORT/path, or --ssh "ssh -p PORT")';
  if (/Could not resolve hostname|Name or service not known/i.test(said))
    return 'check the host name (or its Host entry in ~/.ssh/config)';
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|host key .* changed/i.test(said))
    return `the host's key is not the one known for ${destination}: check its fingerprint, then update known_hosts (ssh-keygen -R HOST) or connect once with ssh to accept it`;
  if (/Permission denied|Too many authentication failures|no more authentication methods/i.test(said))
    return 'authentication failed: check the user (user@host) and the key (ssh-add, or --ssh "ssh -i KEY")';
  if (/timed out|No route to host|Network is unreachable/i.test(said))
    return 'the host cannot be reached from here: check the network, or a jump host in ~/.ssh/config (ProxyJump)';
  return `check that ssh ${destination} true works from this machine, with the same --ssh`;
}

/** One line of `stream` (without its newline), leaving what follows it unread; undefined at its end. */
async function readLine(stream: Readable): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  for (;;) {
    const chunk: Buffer | null = stream.read();
    if (chunk === null) {
      if (stream.readableEnded || stream.destroyed) return undefined;
      const more = await new Promise<boolean>((resolve) => {
        const onReadable = () => finish(true);
        const onEnd = () => finish(false);
        const finish = (value: boolean) => {
          stream.off('readable', onReadable);
          stream.off('end', onEnd);
          stream.off('close', onEnd);
          resolve(value);
        };
        stream.once('readable', onReadable);
        stream.once('end', onEnd);
        stream.once('close', onEnd);
      });
      if (!more && stream.readableLength === 0) return undefined;
      continue;
    }
    const newline = chunk.indexOf(0x0a);
    if (newline === -1) {
      chunks.push(chunk);
      if (chunks.reduce((n, c) => n + c.length, 0) > 65_536) return Buffer.concat(chunks).toString('utf8');
      continue;
    }
    chunks.push(chunk.subarray(0, newline));
    if (newline + 1 < chunk.length) stream.unshift(chunk.subarray(newline + 1));
    return Buffer.concat(chunks).toString('utf8');
  }
}
