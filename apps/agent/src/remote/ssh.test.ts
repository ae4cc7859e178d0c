import { chmodSync, chownSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ReportEntry } from '../engine/types.js';
import { RULE_CASES } from '../test-support/rule-cases.js';
import { type Sshd, startSshd } from '../test-support/sshd.js';
import { treePair } from '../test-support/tree.js';
import { type VerifyOptions, verify } from '../verify.js';

// Verification against a target on another host, through a real OpenSSH server on 127.0.0.1:
// every counting rule counts as against the mounted target, in both modes, with an agent found
// on the remote host (on its PATH, or named by --remote-agent) and without one (a copy of this
// agent's bundle is sent over ssh and run from a private temporary directory there).
const BUNDLE = fileURLToPath(new URL('../../dist/sms-agent.cjs', import.meta.url));

let plain: Sshd;
let withAgent: Sshd;
let installed: string;
const pairs: { cleanup: () => void }[] = [];

beforeAll(async () => {
  plain = await startSshd();
  // a host where sms-agent is installed: on the PATH of its sessions
  const bin = join(plain.dir, 'remote-bin');
  mkdirSync(bin);
  installed = join(bin, 'sms-agent');
  writeFileSync(installed, `#!/bin/sh\nexec ${process.execPath} ${BUNDLE} "$@"\n`);
  chmodSync(installed, 0o755);
  withAgent = await startSshd({ path: `${bin}:/usr/local/bin:/usr/bin:/bin` });
}, 30_000);
afterAll(async () => {
  await plain?.stop();
  await withAgent?.stop();
});
afterEach(() => {
  for (const p of pairs.splice(0)) p.cleanup();
});

type How = 'copied' | 'on its PATH' | 'named by --remote-agent';

async function compare(
  source: Parameters<typeof treePair>[0],
  target: Parameters<typeof treePair>[1],
  options: Partial<VerifyOptions>,
  mode: 'quick' | 'content',
  how: How,
  prepare?: (pair: ReturnType<typeof treePair>) => void,
) {
  const pair = treePair(source, target);
  pairs.push(pair);
  prepare?.(pair);
  const run = async (where: Partial<VerifyOptions>) => {
    const entries: ReportEntry[] = [];
    const result = await verify({
      source: pair.src,
      workers: 0,
      report: true,
      mode,
      onEntries: (e) => entries.push(...e),
      ...options,
      ...where,
    });
    const report = entries
      .map((e) => `${e.root} ${e.category} ${e.path.toString('latin1')} ${e.reason}`)
      .sort();
    return {
      counts: result.results.map((r) => r.counts),
      report,
      warnings: result.warnings,
      notices: result.notices,
    };
  };
  const server = how === 'on its PATH' ? withAgent : plain;
  const mounted = await run({ target: pair.dst });
  const remote = await run({
    targetRemote: {
      target: { destination: server.host, path: pair.dst, display: `${server.host}:${pair.dst}` },
      ssh: ['ssh', '-F', server.config],
      ...(how === 'named by --remote-agent' ? { remoteAgent: installed } : {}),
    },
  });
  return { mounted, remote };
}

describe.each<How>(['copied', 'on its PATH', 'named by --remote-agent'])(
  'a target over ssh, the remote agent %s',
  (how) => {
    it.each(
      RULE_CASES.flatMap(([name, s, t, o]) =>
        (['quick', 'content'] as const).map((m) => [name, m, s, t, o] as const),
      ),
    )(
      'counts %s (%s) as against the mounted target',
      async (_name, mode, source, target, options) => {
        const { mounted, remote } = await compare(source, target, options ?? {}, mode, how);
        expect(remote.counts).toEqual(mounted.counts);
        expect(remote.report).toEqual(mounted.report);
        expect(remote.notices).toContainEqual(
          expect.stringMatching(
            how === 'copied'
              ? /^the target's manifest is made on sms-test-host by a copy of this agent in .*\/sms-agent\.\w+$/
              : /^the target's manifest is made on sms-test-host by sms-agent at .*\/remote-bin\/sms-agent$/,
          ),
        );
        // nothing of a copied agent is left on the remote host
        expect(readdirSync(plain.tmp)).toEqual([]);
      },
      30_000,
    );
  },
);

describe('a target over ssh: what the operator sees', () => {
  it.each<How>(['copied', 'on its PATH'])(
    '--metadata counts a directory whose own mode or owner differs as the mounted target does (agent %s)',
    async (how) => {
      const tree = { etc: { conf: 'c' }, data: { db: 'd' } };
      const { mounted, remote } = await compare(
        tree,
        tree,
        { metadata: ['mode', 'uid', 'gid'] },
        'quick',
        how,
        (p) => {
          chmodSync(join(p.dst, 'etc'), 0o700);
          chownSync(join(p.dst, 'data'), 999, 0);
          chownSync(p.dst, 0, 998);
        },
      );
      expect(mounted.counts).toEqual([{ total: 5, different: 3, missing: 0, extra: 0 }]);
      expect(remote.counts).toEqual(mounted.counts);
      expect(remote.report).toEqual(mounted.report);
      expect(remote.warnings).toEqual([]);
    },
    30_000,
  );

  it('directories and excludes with backslashes and line ends, and more excludes than one command line takes', async () => {
    const tree = {
      'back\\slash': { f: '1', 'x.log': 'l' },
      'new\nline': { g: '2', '日本.tmp': 't' },
      other: { h: '3' },
    };
    const target = { 'back\\slash': { f: '1' }, 'new\nline': { g: 'changed' }, other: { h: '3' } };
    const dirs = ['back\\slash', 'new\nline'];
    // sent to the remote agent
    const few = await compare(
      tree,
      target,
      { dirs, excludes: ['*.log', 'no\\such', '日本.*'] },
      'quick',
      'copied',
    );
    expect(few.mounted.counts).toEqual([
      { total: 1, different: 0, missing: 0, extra: 0 },
      { total: 1, different: 1, missing: 0, extra: 0 },
    ]);
    expect(few.remote.counts).toEqual(few.mounted.counts);
    expect(few.remote.report).toEqual(few.mounted.report);
    // 300 patterns of 200 characters of three bytes each (180 KB; spawn failed with E2BIG): applied here only
    const many = Array.from({ length: 300 }, (_, i) => `${i}${'日'.repeat(200)}`);
    const long = await compare(
      tree,
      target,
      { dirs, excludes: [...many, '*.log', '日本.*'] },
      'quick',
      'copied',
    );
    expect(long.remote.counts).toEqual(few.mounted.counts);
    expect(long.remote.report).toEqual(few.mounted.report);
  }, 30_000);

  it('a target directory that does not exist there: every file missing, with a warning', async () => {
    const pair = treePair({ a: '1', b: { c: '2' } }, {});
    pairs.push(pair);
    const result = await verify({
      source: pair.src,
      workers: 0,
      targetRemote: {
        target: {
          destination: plain.host,
          path: `${pair.dst}/nope`,
          display: `${plain.host}:${pair.dst}/nope`,
        },
        ssh: ['ssh', '-F', plain.config],
      },
    });
    expect(result.results[0]!.counts).toEqual({ total: 2, different: 0, missing: 2, extra: 0 });
    expect(result.warnings[0]).toBe(
      `target directory ${plain.host}:${pair.dst}/nope does not exist: every file of ${pair.src} counts as missing`,
    );
  });

  it('a target directory that cannot be read there (a loop of links): an error, never every file missing', async () => {
    const pair = treePair({ a: '1', b: { c: '2' } }, {});
    pairs.push(pair);
    symlinkSync('loop', join(pair.dst, 'loop'));
    await expect(
      verify({
        source: pair.src,
        workers: 0,
        targetRemote: {
          target: { destination: plain.host, path: `${pair.dst}/loop`, display: '' },
          ssh: ['ssh', '-F', plain.config],
        },
      }),
    ).rejects.toThrow(/cannot read .*\/loop: too many symbolic links encountered \(ELOOP\)/);
  });

  it('a name that is not UTF-8, and a link to the target root', async () => {
    const pair = treePair({}, {});
    pairs.push(pair);
    const name = Buffer.from([0x63, 0x61, 0x66, 0xe9]);
    writeFileSync(Buffer.concat([Buffer.from(`${pair.src}/`), name]), 'x');
    writeFileSync(Buffer.concat([Buffer.from(`${pair.dst}/`), name]), 'y');
    symlinkSync(pair.dst, join(pair.dir, 'link'));
    const result = await verify({
      source: pair.src,
      workers: 0,
      mode: 'content',
      targetRemote: {
        target: { destination: plain.host, path: join(pair.dir, 'link'), display: '' },
        ssh: ['ssh', '-F', plain.config],
      },
    });
    expect(result.results[0]!.counts).toEqual({ total: 1, different: 1, missing: 0, extra: 0 });
  });
});
