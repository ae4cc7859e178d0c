import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import * as v from 'valibot';
import { crypto, readline, zlib } from '../../builtins.js';
import type { FileFacts } from '../difference.js';
import { compareNames, describeError, type Entry, type Name } from '../listing.js';
import {
  EndSchema,
  HeaderSchema,
  isDirRecord,
  KINDS_BY_CODE,
  MANIFEST_VERSION,
  ManifestError,
  type ManifestHeader,
} from './format.js';
import { DEFAULT_MANIFEST_HASH, HASH_HEX_LENGTH, MANIFEST_HASHES } from './hash.js';

export interface DirBlock {
  path: Name;
  entries: (Entry & {
    facts: FileFacts | undefined;
    hash: string | undefined;
    changed: boolean;
    err: string | undefined;
  })[];
  err: string | undefined;
  /** The directory's own permission bits and owner (kind `dir`); undefined in manifests made before they were written. */
  facts: FileFacts | undefined;
  line: number;
}

/** Reads a manifest one directory at a time; every line is checked. */
export class ManifestReader {
  private lines: AsyncIterator<string>;
  private lineNumber = 0;
  private blocks = 0;
  private readonly digest = crypto().createHash('sha256');
  private lastLine = '';
  private pending: DirBlock | undefined;
  private ended = false;
  /** A file (not a stream as it arrives): nothing may follow its end record. */
  private whole = false;
  header!: ManifestHeader;

  private constructor(
    readonly file: string,
    /** What the manifest is read from. */
    readonly stream: Readable,
  ) {
    this.lines = readline()
      .createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })
      [Symbol.asyncIterator]();
  }

  static async open(file: string): Promise<ManifestReader> {
    const first = Buffer.alloc(2);
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch (error) {
      throw new ManifestError(`cannot read the manifest ${file}: ${describeError(error)}`);
    }
    try {
      if (!fstatSync(fd).isFile())
        throw new ManifestError(
          `${file} is not a file: give the manifest made with sms-agent manifest DIR -o FILE`,
        );
      readSync(fd, first, 0, 2, 0);
    } finally {
      closeSync(fd);
    }
    // absolute: the open happens on libuv's threads, and a walk may have moved the working directory (cwd.ts)
    const raw = createReadStream(resolve(file));
    const reader = await ManifestReader.fromStream(
      file,
      first[0] === 0x1f && first[1] === 0x8b ? raw.pipe(zlib().createGunzip()) : raw,
    );
    reader.whole = true;
    return reader;
  }

  /**
   * Reads a manifest from a stream as it arrives (plain NDJSON): the output of
   * `sms-agent manifest` on a target reached over ssh. `name` names it in messages.
   */
  static async fromStream(name: string, input: Readable): Promise<ManifestReader> {
    const reader = new ManifestReader(name, input);
    input.on('error', () => {});
    const header = await reader.nextRecord();
    if (header === undefined) {
      throw new ManifestError(`${name} is empty: it has no manifest header`);
    }
    reader.digest.update(`${reader.lastLine}\n`);
    const version = (header as { sms_manifest?: unknown } | undefined)?.sms_manifest;
    if (typeof version === 'number' && version !== MANIFEST_VERSION) {
      throw new ManifestError(
        version < MANIFEST_VERSION
          ? `${name} is a manifest of format ${version}, made by an older sms-agent (its times may be a second off and it has no owners or modes): make it again with this sms-agent (manifest format ${MANIFEST_VERSION})`
          : `${name} is a manifest of format ${version}, newer than this sms-agent reads (${MANIFEST_VERSION}): verify with the sms-agent that made it, or make it again with this one`,
      );
    }
    const hash = (header as { hash?: unknown } | undefined)?.hash;
    if (
      version === MANIFEST_VERSION &&
      typeof hash === 'string' &&
      !MANIFEST_HASHES.includes(hash as never)
    ) {
      throw new ManifestError(
        `${name} hashes its files with ${JSON.stringify(hash)}, which this sms-agent does not know (it knows ${MANIFEST_HASHES.join(' and ')}): verify with the sms-agent that made it, or make it again with this one`,
      );
    }
    const parsed = v.safeParse(HeaderSchema, header);
    if (!parsed.success) {
      throw new ManifestError(
        `${name} is not an sms-agent manifest (line 1 is not its header): make it with sms-agent manifest DIR -o FILE`,
      );
    }
    reader.header = parsed.output;
    return reader;
  }

  /** The next line; one that cannot be read (a damaged gzip) is a `ManifestError`. */
  private async nextLine(): Promise<IteratorResult<string>> {
    try {
      return await this.lines.next();
    } catch (error) {
      throw new ManifestError(
        `${this.file} cannot be read past line ${this.lineNumber}: ${error instanceof Error ? error.message : String(error)} (a damaged gzip?)`,
      );
    }
  }

  private async nextRecord(): Promise<unknown> {
    const next = await this.nextLine();
    if (next.done) return undefined;
    this.lineNumber++;
    this.lastLine = next.value;
    try {
      return JSON.parse(next.value);
    } catch {
      // a last line cut in the middle: the manifest was cut short, not damaged (every record is an
      // object: a last line that is not one is something else, such as a remote program's words)
      const after = await this.lines.next().catch(() => ({ done: false }));
      if (after.done && next.value.startsWith('{'))
        throw new ManifestError(
          `${this.file} ends at line ${this.lineNumber} in the middle of a line, without its end record: it was cut short; make it again`,
        );
      throw new ManifestError(
        `${this.file} line ${this.lineNumber} is not JSON: the manifest is damaged; make it again`,
      );
    }
  }

  /** The next directory block, or undefined after the end record. */
  private async nextBlock(): Promise<DirBlock | undefined> {
    if (this.pending) {
      const block = this.pending;
      this.pending = undefined;
      return block;
    }
    if (this.ended) return undefined;
    const record = await this.nextRecord();
    if (record === undefined) {
      throw new ManifestError(
        `${this.file} ends at line ${this.lineNumber} without its end record: it was cut short; make it again`,
      );
    }
    // only a record with an `end` key can be the end record (valibot's checking builds its issues for every other line)
    const end =
      typeof record === 'object' && record !== null && 'end' in record
        ? v.safeParse(EndSchema, record)
        : undefined;
    if (end?.success) {
      if (end.output.end.sha256 !== this.digest.digest('hex') || end.output.end.directories !== this.blocks) {
        throw new ManifestError(
          `${this.file} was changed after it was made (its checksum does not match): make it again`,
        );
      }
      this.ended = true;
      // a second manifest appended (`>>` twice), or lines added by hand, would be read by nobody
      if (this.whole)
        for (let next = await this.nextLine(); !next.done; next = await this.nextLine()) {
          this.lineNumber++;
          // a blank line (an editor's last newline) is no record
          if (next.value.trim() !== '')
            throw new ManifestError(
              `${this.file} has more lines after its end record (line ${this.lineNumber}): two manifests in one file (one appended with >>?) or a damaged one; make it again with -o FILE`,
            );
        }
      return undefined;
    }
    this.digest.update(`${this.lastLine}\n`);
    this.blocks++;
    if (!isDirRecord(record) || (record.d === undefined) === (record.db === undefined)) {
      throw new ManifestError(
        `${this.file} line ${this.lineNumber} is not a directory record: the manifest is damaged; make it again`,
      );
    }
    const d = record;
    const entries = d.e.map((e) => {
      if ((e.n === undefined) === (e.nb === undefined)) {
        throw new ManifestError(
          `${this.file} line ${this.lineNumber}: an entry without exactly one of n and nb`,
        );
      }
      if (e.h !== undefined && e.h.length !== HASH_HEX_LENGTH[this.header.hash ?? DEFAULT_MANIFEST_HASH]) {
        throw new ManifestError(
          `${this.file} line ${this.lineNumber}: a hash that is not a ${this.header.hash ?? 'content'} hash: the manifest is damaged; make it again`,
        );
      }
      const kind = KINDS_BY_CODE[e.k]!;
      const link =
        e.l !== undefined ? Buffer.from(e.l) : e.lb !== undefined ? Buffer.from(e.lb, 'base64') : undefined;
      // fields set one by one (object spreads made a temporary object for each)
      let facts: FileFacts | undefined;
      if (kind !== 'dir') {
        facts = { kind };
        if (e.s !== undefined) facts.size = e.s;
        if (e.m !== undefined) {
          facts.mtime = e.m;
          facts.mtimeNs = e.mn ?? 0;
        }
        if (e.p !== undefined) facts.mode = e.p;
        if (e.u !== undefined) facts.uid = e.u;
        if (e.g !== undefined) facts.gid = e.g;
        if (e.r !== undefined) facts.rdev = e.r;
        if (link) facts.link = link;
      }
      return {
        name: e.n ?? Buffer.from(e.nb!, 'base64'),
        kind,
        facts,
        hash: e.h,
        changed: e.c === 1,
        err: e.err,
      };
    });
    const facts: FileFacts | undefined =
      d.p !== undefined && d.u !== undefined && d.g !== undefined
        ? { kind: 'dir', mode: d.p, uid: d.u, gid: d.g }
        : undefined;
    return {
      path: d.d ?? Buffer.from(d.db!, 'base64'),
      entries,
      err: d.err,
      facts,
      line: this.lineNumber,
    };
  }

  /**
   * The block of directory `path` (relative to the manifest root), skipping
   * blocks that come before it (excluded or unasked subtrees); undefined when
   * the manifest has no such directory.
   */
  async blockFor(path: Name): Promise<DirBlock | undefined> {
    for (;;) {
      const block = await this.nextBlock();
      if (!block) return undefined;
      const order = comparePaths(block.path, path);
      if (order === 0) return block;
      if (order > 0) {
        this.pending = block;
        return undefined;
      }
    }
  }

  /** Reads to the end, so that a manifest cut short is noticed even when its last blocks were not needed. */
  async finish(): Promise<void> {
    while (await this.nextBlock()) {}
  }
}

/** Depth-first order of two relative paths, component by component. */
export function comparePaths(a: Name, b: Name): number {
  const split = (p: Name): Name[] =>
    p.length === 0
      ? []
      : typeof p === 'string'
        ? p.split('/')
        : p
            .toString('latin1')
            .split('/')
            .map((c) => Buffer.from(c, 'latin1'));
  const as = split(a);
  const bs = split(b);
  for (let i = 0; i < Math.min(as.length, bs.length); i++) {
    const order = compareNames(as[i]!, bs[i]!);
    if (order !== 0) return order;
  }
  return as.length - bs.length;
}
