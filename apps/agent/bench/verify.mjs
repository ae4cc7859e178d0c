#!/usr/bin/env node
// Verification benchmark: generates a source tree and a target copy with a
// seeded generator (mixed file sizes; a known number of changed, content-only
// changed, missing and extra files), then runs, in this one script and on a
// warm page cache, `sms-agent verify` beside `rsync -rn --delete` (quick) and
// `rsync -rcn --delete` (content), and `rclone check` where installed. Prints
// the median wall time of 3 runs (the tools compared with each other run in
// rounds, one run of each per round), peak memory, the ratios, and whether the
// agent's counts equal the generator's ground truth.
//
//   node apps/agent/bench/verify.mjs                         quick, 100,000 files
//   BENCH_MODE=content BENCH_FILES=20000 BENCH_MEAN_KB=150 node apps/agent/bench/verify.mjs
//   BENCH_FILES=1000000 BENCH_RUNS=1 node apps/agent/bench/verify.mjs      (memory on a million files)
//
// Where /usr/sbin/sshd is installed it also verifies over ssh (sms-agent --target host:DIR, with the
// agent installed there and copied there: the bundle, and the executable's JavaScript to a host with
// Node.js or the executable itself to one without; against rsync -rn/-rcn -e ssh) and, in quick mode,
// through an sshfs mount of the target (against rsync -rn on the same mount); BENCH_SSH=0 and
// BENCH_SSHFS=0 leave them out.
//
// In quick mode it also runs both with 5,000 exclude patterns (BENCH_EXCLUDES) from one
// --exclude-from file: a mix of names, *suffixes, prefixes*, directories/, anchored paths and globs,
// and **/names, of which one (extra-*) matches the extra files: the agent must stay within 1.3x of
// its time without excludes.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const AGENT = join(here, '..', 'bin', 'sms-agent.js');
const FILES = Number(process.env.BENCH_FILES ?? 100_000);
const MODE = process.env.BENCH_MODE ?? 'quick';
const MEAN_KB = Number(process.env.BENCH_MEAN_KB ?? (MODE === 'content' ? 150 : 2));
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SEED = Number(process.env.BENCH_SEED ?? 42);
const KEEP = process.env.BENCH_KEEP === '1';

// mulberry32: a small seeded generator, the same tree for the same seed
let state = SEED >>> 0;
const random = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
/** Mixed sizes around the mean: most files small, a few large (exponential). */
const sizeOf = () => Math.floor(-Math.log(1 - random()) * MEAN_KB * 1024);

const root = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'sms-bench-verify-'));
const src = join(root, 'src');
const dst = join(root, 'dst');
const MTIME = new Date('2026-01-02T03:04:05Z');
const pathOf = (i) => join(`d${Math.floor(i / 10_000)}`, `e${Math.floor(i / 100)}`, `f${i}.dat`);

console.log(`generating ${FILES.toLocaleString('en-US')} files (mean ${MEAN_KB} KB) in ${root} …`);
const started = performance.now();
const block = Buffer.alloc(1024 * 1024);
for (let i = 0; i < block.length; i++) block[i] = Math.floor(random() * 256);
let bytes = 0;
for (let i = 0; i < FILES; i++) {
  const path = join(src, pathOf(i));
  if (i % 100 === 0) mkdirSync(join(path, '..'), { recursive: true });
  const size = sizeOf();
  const fd = openSync(path, 'w');
  let left = size;
  let offset = Math.floor(random() * 1000);
  while (left > 0) {
    const n = Math.min(left, block.length - offset);
    writeSync(fd, block, offset, n);
    left -= n;
    offset = 0;
  }
  closeSync(fd);
  utimesSync(path, MTIME, MTIME);
  bytes += size;
}
execFileSync('cp', ['-a', src, dst]);

// the known differences
const pick = (n) => {
  const chosen = new Set();
  while (chosen.size < n) chosen.add(Math.floor(random() * FILES));
  return [...chosen];
};
const k = Math.max(1, Math.round(FILES / 1000));
const picked = pick(4 * k);
const changed = picked.slice(0, k);
const contentOnly = picked.slice(k, 2 * k);
const missing = picked.slice(2 * k, 3 * k);
for (const i of changed) {
  writeFileSync(join(dst, pathOf(i)), 'x', { flag: 'a' }); // one byte longer: both modes see it
  utimesSync(join(dst, pathOf(i)), MTIME, MTIME);
}
let contentOnlyEffective = 0;
for (const i of contentOnly) {
  const path = join(dst, pathOf(i));
  const size = statSync(path).size;
  if (size === 0) continue; // an empty file has no byte to change
  const fd = openSync(path, 'r+');
  const one = Buffer.alloc(1);
  const at = Math.floor(size / 2);
  readSync(fd, one, 0, 1, at);
  one[0] ^= 0xff;
  writeSync(fd, one, 0, 1, at);
  closeSync(fd);
  utimesSync(path, MTIME, MTIME); // same size, same time: only content mode sees it
  contentOnlyEffective++;
}
for (const i of missing) unlinkSync(join(dst, pathOf(i)));
for (let e = 0; e < k; e++) writeFileSync(join(dst, 'd0', `extra-${e}.dat`), 'extra');
const truth = {
  quick: {
    num_total_files: FILES,
    num_different_files: k,
    num_target_miss_files: k,
    num_target_more_files: k,
  },
  content: {
    num_total_files: FILES,
    num_different_files: k + contentOnlyEffective,
    num_target_miss_files: k,
    num_target_more_files: k,
  },
}[MODE];
console.log(
  `generated ${(bytes / 1e9).toFixed(2)} GB per tree in ${((performance.now() - started) / 1000).toFixed(1)} s; ground truth (${MODE}): ${JSON.stringify(truth)}\n`,
);

/** Runs a command under /usr/bin/time: wall seconds and peak RSS in MiB. */
function measure(command, args) {
  const run = spawnSync('/usr/bin/time', ['-f', '%e %M', command, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  const last = run.stderr.trim().split('\n').pop();
  const [seconds, kb] = last.split(' ').map(Number);
  return { seconds, rssMiB: kb / 1024, stdout: run.stdout, status: run.status };
}

const EXCLUDES = Number(process.env.BENCH_EXCLUDES ?? 5000);
const excludeFile = join(root, 'excludes.txt');
if (MODE === 'quick' && EXCLUDES > 0) {
  const kinds = [
    (i) => `cache-${i}`,
    (i) => `*.tmp${i}`,
    (i) => `tmp-${i}*`,
    (i) => `build-${i}/`,
    (i) => `/d${i}/scratch`,
    (i) => `d0/e${i}/*.bak`,
    (i) => `f${i}?.orig`,
    (i) => `**/node_modules-${i}`,
  ];
  const lines = ['# generated by the benchmark', 'extra-*'];
  for (let i = 0; lines.length < EXCLUDES + 1; i++) lines.push(kinds[i % kinds.length](i));
  writeFileSync(excludeFile, `${lines.join('\n')}\n`);
}

const tools = [
  {
    name: `sms-agent verify --mode ${MODE}`,
    group: 'local',
    command: process.execPath,
    args: [AGENT, 'verify', '--source', src, '--target', dst, '--mode', MODE, '--json', '--no-progress'],
    agent: true,
  },
  MODE === 'quick'
    ? {
        name: 'rsync -rn --delete',
        group: 'local',
        command: 'rsync',
        args: ['-rn', '--delete', `${src}/`, `${dst}/`],
      }
    : {
        name: 'rsync -rcn --delete',
        group: 'local',
        command: 'rsync',
        args: ['-rcn', '--delete', `${src}/`, `${dst}/`],
      },
];
// the single executable (scripts/build-exe.mjs), built from this Node: the same walk, started faster
const EXE = join(here, '..', 'dist', `sms-agent-${process.platform}-${process.arch}`);
if (process.env.BENCH_EXE !== '0') {
  execFileSync(process.execPath, [join(here, '..', 'scripts', 'build-exe.mjs')], { stdio: 'ignore' });
  tools.push({
    name: `sms-agent executable --mode ${MODE}`,
    group: 'local',
    command: EXE,
    args: tools[0].args.slice(1),
    agent: true,
    versus: tools[1].name,
  });
}
if (MODE === 'quick' && EXCLUDES > 0) {
  tools.push(
    {
      name: `sms-agent, ${EXCLUDES.toLocaleString('en-US')} excludes`,
      group: 'local',
      command: process.execPath,
      args: [...tools[0].args, '--exclude-from', excludeFile],
      agent: true,
      // extra-* leaves out the extra files
      truth: { ...truth, num_target_more_files: 0 },
      baseline: tools[0].name,
    },
    {
      name: `rsync, ${EXCLUDES.toLocaleString('en-US')} excludes`,
      group: 'local',
      command: 'rsync',
      args: ['-rn', '--delete', '--exclude-from', excludeFile, `${src}/`, `${dst}/`],
      peerOf: `sms-agent, ${EXCLUDES.toLocaleString('en-US')} excludes`,
    },
  );
}
// Over ssh and through an sshfs mount: a real OpenSSH server on a free port of 127.0.0.1 (the
// tests' harness, src/test-support/sshd.ts, bundled here by rolldown), serving this machine's dst.
let sshd;
let sshdWithoutNode;
let sshfs;
if (process.env.BENCH_SSH !== '0' && existsSync('/usr/sbin/sshd')) {
  const { build } = await import('rolldown');
  const harness = join(root, 'sshd-harness.mjs');
  await build({
    cwd: join(here, '..'),
    input: 'src/test-support/sshd.ts',
    platform: 'node',
    logLevel: 'warn',
    output: { file: harness, format: 'esm', codeSplitting: false },
  });
  const { startSshd, mountSshfs, pathWithoutNode } = await import(harness);
  sshd = await startSshd();
  // a second server whose sessions have no Node.js on their PATH: the executable copies itself there
  if (process.env.BENCH_EXE !== '0') sshdWithoutNode = await startSshd({ path: pathWithoutNode(root) });
  // an agent installed on the remote host (the package's command, run by this Node, with its code
  // cache as an installed sms-agent keeps it), beside the copy made when none is
  const installed = join(root, 'remote-sms-agent');
  writeFileSync(installed, `#!/bin/sh\nexec ${process.execPath} ${AGENT} "$@"\n`);
  chmodSync(installed, 0o755);
  const remote = [
    'verify',
    '--source',
    src,
    '--target',
    `${sshd.host}:${dst}`,
    '--ssh',
    sshd.ssh,
    '--mode',
    MODE,
    '--json',
    '--no-progress',
  ];
  const rsyncSsh = `${MODE === 'quick' ? 'rsync -rn' : 'rsync -rcn'} -e ssh`;
  tools.push(
    {
      name: 'sms-agent over ssh, installed there',
      group: 'ssh',
      command: process.execPath,
      args: [AGENT, ...remote, '--remote-agent', installed],
      agent: true,
      versus: rsyncSsh,
      goal: 'at most 1.0x',
    },
    {
      name: 'sms-agent over ssh, copied there',
      group: 'ssh',
      command: process.execPath,
      args: [AGENT, ...remote],
      agent: true,
      versus: rsyncSsh,
    },
    ...(process.env.BENCH_EXE !== '0'
      ? [
          {
            name: 'sms-agent executable over ssh, its JavaScript copied (Node.js there)',
            group: 'ssh',
            command: EXE,
            args: remote,
            agent: true,
            versus: rsyncSsh,
          },
          {
            name: 'sms-agent executable over ssh, itself copied (no Node.js there)',
            group: 'ssh',
            command: EXE,
            // the same host name, another server (its own ssh config)
            args: remote.map((arg) => (arg === sshd.ssh ? sshdWithoutNode.ssh : arg)),
            agent: true,
            versus: rsyncSsh,
          },
        ]
      : []),
    {
      name: rsyncSsh,
      group: 'ssh',
      command: 'rsync',
      args: [
        MODE === 'quick' ? '-rn' : '-rcn',
        '--delete',
        '-e',
        sshd.ssh,
        `${src}/`,
        `${sshd.host}:${dst}/`,
      ],
      peerless: true,
    },
  );
  if (MODE === 'quick' && process.env.BENCH_SSHFS !== '0' && existsSync('/dev/fuse')) {
    sshfs = mountSshfs(sshd, dst);
    tools.push(
      {
        name: 'sms-agent, target on sshfs',
        group: 'sshfs',
        command: process.execPath,
        args: [AGENT, 'verify', '--source', src, '--target', sshfs.mountpoint, '--json', '--no-progress'],
        agent: true,
        versus: 'rsync -rn, target on sshfs',
        goal: 'at most 0.7x',
      },
      {
        name: 'rsync -rn, target on sshfs',
        group: 'sshfs',
        command: 'rsync',
        args: ['-rn', '--delete', `${src}/`, `${sshfs.mountpoint}/`],
        peerless: true,
      },
    );
  }
}
if (existsSync('/usr/bin/rclone')) {
  tools.push(
    MODE === 'quick'
      ? {
          name: 'rclone check --size-only',
          group: 'local',
          command: 'rclone',
          args: ['check', '--size-only', '-q', src, dst],
        }
      : { name: 'rclone check (hashes)', group: 'local', command: 'rclone', args: ['check', '-q', src, dst] },
  );
}

// The tools of a group (those compared with each other) run in rounds, one run of each per round,
// so that the machine's drift over the group's minute or two falls on each of them alike (run one
// after the other, a tool measured in a slow moment was compared with a peer measured in a quick
// one); the groups run one after the other.
const runsOf = new Map(tools.map((tool) => [tool, []]));
for (const group of new Set(tools.map((tool) => tool.group))) {
  const members = tools.filter((tool) => tool.group === group);
  for (const tool of members) measure(tool.command, tool.args); // warm the page cache and the binary
  for (let round = 0; round < RUNS; round++)
    for (const tool of members) runsOf.get(tool).push(measure(tool.command, tool.args));
}
const results = [];
for (const tool of tools) {
  const runs = runsOf.get(tool);
  runs.sort((a, b) => a.seconds - b.seconds);
  const median = runs[Math.floor(runs.length / 2)];
  const row = { tool: tool.name, seconds: median.seconds, peakMiB: Math.max(...runs.map((r) => r.rssMiB)) };
  if (tool.agent) {
    const got = JSON.parse(median.stdout).consistency_result[0];
    const { dir_check: _, ...counts } = got;
    row.counts = counts;
    row.matchesTruth = JSON.stringify(counts) === JSON.stringify(tool.truth ?? truth);
  }
  results.push(row);
  console.log(
    `${row.tool.padEnd(30)} ${row.seconds.toFixed(2).padStart(7)} s   peak ${row.peakMiB.toFixed(0).padStart(5)} MiB${row.counts ? `   counts ${row.matchesTruth ? 'match' : 'DO NOT match'} the ground truth` : ''}`,
  );
}
const agent = results[0];
const rowOf = (name) => results.find((r) => r.tool === name);
console.log('');
for (const [i, peer] of results.entries()) {
  const tool = tools[i];
  if (tool.agent && tool.versus) {
    const peerRow = rowOf(tool.versus);
    console.log(
      `${peer.tool} / ${peerRow.tool}: ${(peer.seconds / peerRow.seconds).toFixed(2)}x the time${tool.goal ? ` (target: ${tool.goal})` : ''}`,
    );
  } else if (tool.agent && tool.baseline) {
    const base = rowOf(tool.baseline);
    console.log(
      `${peer.tool} / without excludes: ${(peer.seconds / base.seconds).toFixed(2)}x the time (target: at most 1.3x)`,
    );
  } else if (tool.peerOf) {
    const mine = rowOf(tool.peerOf);
    console.log(`${mine.tool} / ${peer.tool}: ${(mine.seconds / peer.seconds).toFixed(2)}x the time`);
  } else if (!tool.agent && !tool.peerless) {
    console.log(
      `sms-agent / ${peer.tool}: ${(agent.seconds / peer.seconds).toFixed(2)}x the time (${agent.seconds <= peer.seconds ? 'faster or equal' : 'slower'})`,
    );
  }
}
// Start-up: verify of two empty directories, with a clean environment (env -i: without the
// NODE_EXTRA_CA_CERTS some machines set, which adds about 40 ms to every Node start), median of 21.
const empty = mkdtempSync(join(tmpdir(), 'sms-bench-empty-'));
const startup = [
  ['node -e 0 (the floor)', '/usr/bin/env', ['-i', process.execPath, '-e', '0']],
  [
    'sms-agent package (node bin/sms-agent.js)',
    '/usr/bin/env',
    ['-i', process.execPath, AGENT, 'verify', '--source', empty, '--target', empty],
  ],
  ...(process.env.BENCH_EXE !== '0'
    ? [['sms-agent executable', '/usr/bin/env', ['-i', EXE, 'verify', '--source', empty, '--target', empty]]]
    : []),
].map(([name, command, args]) => {
  const times = Array.from({ length: 21 }, () => {
    const started = performance.now();
    spawnSync(command, args, { stdio: 'ignore' });
    return (performance.now() - started) / 1000;
  }).sort((a, b) => a - b);
  return { tool: name, seconds: times[10] };
});
rmSync(empty, { recursive: true, force: true });
console.log('\nstart-up, verify of two empty directories (env -i, median of 21):');
for (const row of startup) console.log(`  ${row.tool.padEnd(44)} ${row.seconds.toFixed(3)} s`);

mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(
  join(here, 'results', `verify-${MODE}-${FILES}-latest.json`),
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, files: FILES, mode: MODE, gigabytes: bytes / 1e9, truth, results, startup }, null, 2)}\n`,
);
sshfs?.unmount();
await sshd?.stop();
await sshdWithoutNode?.stop();
if (!KEEP) rmSync(root, { recursive: true, force: true });
if (results.some((r) => r.matchesTruth === false)) process.exitCode = 1;
