import { createHash, type Hash } from 'node:crypto';
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { ExcludeMatcher } from '../exclude.js';
import { InterruptedError, throwIfInterrupted, yieldToEvents } from '../interrupt.js';
import { describeError, factsOf, listOne, type Name, SideError } from '../listing.js';
import { displayPath, joinPath } from '../paths.js';
import type { Mode, Progress } from '../types.js';
import {
  hashFileAsync,
  KIND_CODES,
  MANIFEST_HASH,
  MANIFEST_VERSION,
  ManifestError,
  nameField,
} from './format.js';

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
}

/**
 * Writes the manifest of `dir`, streamed: one directory's entries in memory at
 * a time. `output` ending in `.gz` is gzipped; `-` is stdout. A file is
 * written as `OUTPUT.partial` and renamed to its name only once complete, so
 * that an interrupted or failed run never leaves a manifest cut short under
 * the name a verifier would read.
 */
export async function writeManifest(
  dir: string,
  options: ManifestOptions,
): Promise<{ directories: number; files: number }> {
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

async function writeTo(
  dir: string,
  options: ManifestOptions,
  temporary: string | undefined,
): Promise<{ directories: number; files: number }> {
  const excludes = new ExcludeMatcher(options.excludes);
  const out: Writable = temporary ? createWriteStream(temporary) : process.stdout;
  const sink: Writable = options.output.endsWith('.gz') ? createGzip() : out;
  if (sink !== out) sink.pipe(out);
  const failed = new Promise<never>((_, reject) => {
    out.once('error', (error) =>
      reject(new ManifestError(`cannot write ${options.output}: ${describeError(error)}`)),
    );
  });
  const buffer = Buffer.allocUnsafe(1024 * 1024);
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
    const stack: Name[] = [''];
    let yielded = Date.now();
    while (stack.length > 0) {
      // writes rarely wait: let a signal be heard now and then
      if (Date.now() - yielded > 50) {
        await yieldToEvents();
        throwIfInterrupted(options.signal);
        yielded = Date.now();
      }
      const rel = stack.pop()!;
      const path = joinPath(dir, rel);
      progress.current = typeof path === 'string' ? path : displayPath(path);
      const listing = listOne(path, typeof rel !== 'string');
      directories++;
      if (!listing.ok) {
        await writeLine(
          sink,
          JSON.stringify({ ...nameField(rel, 'd', 'db'), e: [], err: listing.reason }),
          digest,
        );
        continue;
      }
      const records: Record<string, unknown>[] = [];
      const children: Name[] = [];
      for (const entry of listing.entries) {
        const childRel = joinPath(rel, entry.name);
        if (
          excludes.size > 0 &&
          excludes.matches(
            typeof childRel === 'string' ? childRel : childRel.toString('utf8'),
            entry.kind === 'dir',
          )
        )
          continue;
        progress.entries++;
        const record: Record<string, unknown> = {
          ...nameField(entry.name, 'n', 'nb'),
          k: KIND_CODES[entry.kind],
        };
        if (entry.kind === 'dir') children.push(childRel);
        else {
          files++;
          try {
            // every entry's mode and owner: the manifest serves verify --metadata too
            const facts = factsOf('source', joinPath(path, entry.name), entry.kind, true);
            record.k = KIND_CODES[facts.kind];
            if (facts.size !== undefined) record.s = facts.size;
            if (facts.mtime !== undefined) record.m = facts.mtime;
            if (facts.mtimeNs !== undefined) record.mn = facts.mtimeNs;
            if (facts.link) Object.assign(record, nameField(facts.link, 'l', 'lb'));
            record.p = facts.mode;
            record.u = facts.uid;
            record.g = facts.gid;
            if (options.mode === 'content' && facts.kind === 'file') {
              const read = await hashFileAsync(
                joinPath(path, entry.name),
                facts,
                buffer,
                (n) => {
                  progress.bytes += n;
                },
                options.signal,
              );
              // written while it was hashed: no hash to trust, and the verifier says so
              if (read.changed) record.c = 1;
              else record.h = read.hash;
            }
          } catch (error) {
            if (error instanceof InterruptedError) throw error;
            record.err = error instanceof SideError ? error.problem : describeError(error);
          }
        }
        records.push(record);
        if (options.onProgress && Date.now() - last > 200) {
          last = Date.now();
          options.onProgress(progress);
        }
      }
      await writeLine(sink, JSON.stringify({ ...nameField(rel, 'd', 'db'), e: records }), digest);
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
    return { directories, files };
  })();
  failed.catch(() => {}); // heard through the race; never unhandled after it
  try {
    return await Promise.race([work, failed]);
  } catch (error) {
    if (out !== process.stdout) out.destroy();
    throw error;
  }
}
