import { createHash, type Hash } from 'node:crypto';
import { createWriteStream, renameSync, rmSync, statSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { ExcludeMatcher } from '../exclude.js';
import { InterruptedError, throwIfInterrupted, yieldToEvents } from '../interrupt.js';
import { describeError, factsOf, listOne, type Name, SideError } from '../listing.js';
import { displayPath, joinPath } from '../paths.js';
import type { Mode, Progress } from '../types.js';
import {
  hashFile,
  hashFileAsync,
  KIND_CODES,
  MANIFEST_HASH,
  MANIFEST_VERSION,
  ManifestError,
  nameJson,
} from './format.js';
import { comparePaths } from './read.js';

function isDirectory(path: Name): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Files up to this size are hashed with synchronous reads (about 10 ms each at SHA-256's speed). */
const SYNC_HASH_MAX = 16 * 1024 * 1024;

async function writeLine(out: Writable, line: string, digest?: Hash): Promise<void> {
  digest?.update(`${line}\n`);
  if (!out.write(`${line}\n`)) await new Promise<void>((resolve) => out.once('drain', resolve));
}

export interface ManifestOptions {
  mode: Mode;
  excludes: string[];
  /** the file to write (`.gz`: gzipped), or `-` for stdout */
  output: string;
  onProgress?: (p: Progress) => void;
  /** stops writing with `InterruptedError`; no file is left under the output's name */
  signal?: AbortSignal;
  /**
   * Only these directories below `dir` ('/'-separated, none inside another), each with what is
   * under it, excludes matched relative to each (as verify --dir does); one that is not a
   * directory gets no block (the verifier counts its files as missing). Default: `dir` itself.
   */
  dirs?: string[];
}

/**
 * Writes the manifest of `dir`, streamed: one directory's entries in memory at
 * a time. `output` ending in `.gz` is gzipped; `-` is stdout. A file is
 * written as `OUTPUT.partial` and renamed to its name only once complete, so
 * that an interrupted or failed run never leaves a manifest cut short under
 * the name a verifier would read.
 */
export async function writeManifest(dir: string, options: ManifestOptions): Promise<ManifestWritten> {
  const temporary = options.output === '-' ? undefined : `${options.output}.partial`;
  try {
    const written = await writeTo(dir, options, temporary);
    if (temporary) renameSync(temporary, options.output);
    return written;
  } catch (error) {
    if (temporary) rmSync(temporary, { force: true });
    throw error;
  }
}

export interface ManifestWritten {
  directories: number;
  files: number;
  /** The `dirs` that are not directories (so have no block). */
  absent: string[];
}

async function writeTo(
  dir: string,
  options: ManifestOptions,
  temporary: string | undefined,
): Promise<ManifestWritten> {
  const excludes = new ExcludeMatcher(options.excludes);
  const out: Writable = temporary ? createWriteStream(temporary) : process.stdout;
  const sink: Writable = options.output.endsWith('.gz') ? createGzip() : out;
  if (sink !== out) sink.pipe(out);
  const failed = new Promise<never>((_, reject) => {
    out.once('error', (error) =>
      reject(new ManifestError(`cannot write ${options.output}: ${describeError(error)}`)),
    );
  });
  const buffer = Buffer.allocUnsafe(256 * 1024);
  const progress: Progress = { entries: 0, bytes: 0, current: '' };
  let last = 0;
  // every line before the end record is hashed: a manifest changed anywhere is refused, never counted
  const digest = createHash('sha256');
  const work = (async () => {
    await writeLine(
      sink,
      JSON.stringify({
        sms_manifest: MANIFEST_VERSION,
        root: dir,
        mode: options.mode,
        hash: options.mode === 'content' ? MANIFEST_HASH : null,
        created_at: new Date().toISOString(),
      }),
      digest,
    );
    let directories = 0;
    let files = 0;
    const absent: string[] = [];
    // each root's blocks in the order the verifier reads them; `inner` is the path below the root
    const roots = [...(options.dirs ?? [''])].sort(comparePaths);
    const stack: { rel: Name; inner: Name }[] = [];
    for (let r = roots.length - 1; r >= 0; r--) {
      if (isDirectory(joinPath(dir, roots[r]!))) stack.push({ rel: roots[r]!, inner: '' });
      else absent.unshift(roots[r]!);
    }
    let yielded = Date.now();
    while (stack.length > 0) {
      // writes rarely wait: let a signal be heard now and then
      if (Date.now() - yielded > 50) {
        await yieldToEvents();
        throwIfInterrupted(options.signal);
        yielded = Date.now();
      }
      const { rel, inner } = stack.pop()!;
      const path = joinPath(dir, rel);
      progress.current = typeof path === 'string' ? path : displayPath(path);
      const listing = listOne(path, typeof rel !== 'string');
      directories++;
      if (!listing.ok) {
        await writeLine(
          sink,
          `{${nameJson(rel, 'd', 'db')},"e":[],"err":${JSON.stringify(listing.reason)}}`,
          digest,
        );
        continue;
      }
      // each entry's JSON written as text: objects grown field by field make JSON.stringify ten times slower
      const records: string[] = [];
      const children: { rel: Name; inner: Name }[] = [];
      for (const entry of listing.entries) {
        if (excludes.size > 0) {
          const childInner = joinPath(inner, entry.name);
          if (
            excludes.matches(
              typeof childInner === 'string' ? childInner : childInner.toString('utf8'),
              entry.kind === 'dir',
            )
          )
            continue;
        }
        progress.entries++;
        const name = nameJson(entry.name, 'n', 'nb');
        if (entry.kind === 'dir') {
          children.push({ rel: joinPath(rel, entry.name), inner: joinPath(inner, entry.name) });
          records.push(`{${name},"k":"d"}`);
        } else {
          files++;
          let record = '';
          let kind = KIND_CODES[entry.kind];
          try {
            // every entry's mode and owner: the manifest serves verify --metadata too
            const facts = factsOf('source', joinPath(path, entry.name), entry.kind, true);
            kind = KIND_CODES[facts.kind];
            if (facts.size !== undefined) record += `,"s":${facts.size}`;
            if (facts.mtime !== undefined) record += `,"m":${facts.mtime}`;
            if (facts.mtimeNs !== undefined) record += `,"mn":${facts.mtimeNs}`;
            if (facts.link) record += `,${nameJson(facts.link, 'l', 'lb')}`;
            record += `,"p":${facts.mode},"u":${facts.uid},"g":${facts.gid}`;
            if (options.mode === 'content' && facts.kind === 'file') {
              const onBytes = (n: number) => {
                progress.bytes += n;
              };
              // a small file is read with synchronous calls (each asynchronous one costs a round trip
              // to libuv's threads: with a few per file, most of the time on small files); a large
              // one asynchronously, so that a signal is heard while it is read
              const read =
                (facts.size ?? 0) <= SYNC_HASH_MAX
                  ? hashFile(joinPath(path, entry.name), facts, buffer, onBytes)
                  : await hashFileAsync(joinPath(path, entry.name), facts, buffer, onBytes, options.signal);
              if (Date.now() - yielded > 50) {
                await yieldToEvents();
                throwIfInterrupted(options.signal);
                yielded = Date.now();
              }
              // written while it was hashed: no hash to trust, and the verifier says so
              record += read.changed ? ',"c":1' : `,"h":"${read.hash}"`;
            }
          } catch (error) {
            if (error instanceof InterruptedError) throw error;
            record += `,"err":${JSON.stringify(error instanceof SideError ? error.problem : describeError(error))}`;
          }
          records.push(`{${name},"k":"${kind}"${record}}`);
        }
        if (options.onProgress && Date.now() - last > 200) {
          last = Date.now();
          options.onProgress(progress);
        }
      }
      await writeLine(sink, `{${nameJson(rel, 'd', 'db')},"e":[${records.join(',')}]}`, digest);
      for (let k = children.length - 1; k >= 0; k--) stack.push(children[k]!);
    }
    await writeLine(sink, JSON.stringify({ end: { directories, files, sha256: digest.digest('hex') } }));
    await new Promise<void>((resolve) => {
      if (out === process.stdout) sink === out ? resolve() : sink.end(resolve);
      else {
        out.once('finish', () => resolve());
        sink.end();
      }
    });
    options.onProgress?.(progress);
    return { directories, files, absent };
  })();
  failed.catch(() => {}); // heard through the race; never unhandled after it
  try {
    return await Promise.race([work, failed]);
  } catch (error) {
    if (out !== process.stdout) out.destroy();
    throw error;
  }
}
