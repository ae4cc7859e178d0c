import type { Worker } from 'node:worker_threads';
import type { FileFacts } from '../difference.js';
import { SideError, VanishedError } from '../listing.js';
import { startWorker } from '../runner.js';
import { fromTransfer } from '../wire.js';
import type { DescribedDir, ManifestDir } from './describe.js';
import type { HashedFile, ManifestWorkerData, ManifestWorkerReply, ManifestWorkerRequest } from './serve.js';

type Settled = Extract<ManifestWorkerReply, { id: number }>;

/** Files hashed quietly: each one's hash (or the error the verifier counts) and the bytes read of it. */
export interface QuietReads {
  reads: ({ hash: string; changed: boolean } | Error)[];
  bytes: number[];
}

interface Waiting {
  resolve: (reply: Settled) => void;
  reject: (error: Error) => void;
}

/**
 * Worker threads for manifests (src/engine/manifest/serve.ts): each request goes to the least busy
 * worker and its reply comes back as a promise. Bytes hashed are told to `onBytes` as they are read.
 */
export class ManifestPool {
  /** The workers that have started (tens of milliseconds after the pool). */
  readonly online: Worker[] = [];
  /** Resolves once every worker has started. */
  readonly started: Promise<void>;
  private readonly workers: Worker[] = [];
  private readonly load = new Map<Worker, number>();
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 0;
  private failure: Error | undefined;
  private closing = false;
  /** Requests sent and not yet answered. */
  inFlight = 0;

  constructor(
    count: number,
    data: ManifestWorkerData,
    /** Told the bytes read for requests that are not quiet (set by whoever uses the pool now). */
    public onBytes: (n: number) => void,
  ) {
    for (let i = 0; i < count; i++) {
      const worker = startWorker(data);
      this.workers.push(worker);
      this.load.set(worker, 0);
      worker.once('online', () => this.online.push(worker));
      worker.on('error', (error) => this.fail(error));
      worker.on('exit', (code) => {
        // ended by close(), or on its own: either way nothing more comes from it
        this.fail(
          new Error(
            this.closing
              ? 'the manifest workers were ended'
              : `a manifest worker stopped with exit code ${code}`,
          ),
        );
      });
      worker.on('message', (reply: ManifestWorkerReply) => {
        if (reply.type === 'bytes') {
          this.onBytes(reply.bytes);
          return;
        }
        this.inFlight--;
        this.load.set(worker, this.load.get(worker)! - 1);
        const waiting = this.waiting.get(reply.id);
        this.waiting.delete(reply.id);
        if (reply.type === 'failed') waiting?.reject(new Error(reply.message));
        else waiting?.resolve(reply);
      });
    }
    // settles also for a worker that fails to start (it never comes online; fail() says why)
    this.started = Promise.all(
      this.workers.map(
        (w) =>
          new Promise((resolve) => {
            w.once('online', resolve);
            w.once('error', resolve);
            w.once('exit', resolve);
          }),
      ),
    ).then(() => {});
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const waiting of this.waiting.values()) waiting.reject(error);
    this.waiting.clear();
  }

  /** Whether the workers failed (or were ended): nothing more can be asked of them. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /**
   * Sends `request` to the least busy worker that has started; before any has, to the least busy of
   * all (a message waits for its worker to start: requests sent at once are shared out, not all
   * queued on the first).
   */
  private send(request: ManifestWorkerRequest): Promise<Settled> {
    const candidates = this.online.length > 0 ? this.online : this.workers;
    let worker = candidates[0]!;
    for (const w of candidates) if (this.load.get(w)! < this.load.get(worker)!) worker = w;
    this.inFlight++;
    this.load.set(worker, this.load.get(worker)! + 1);
    const reply = new Promise<Settled>((resolve, reject) => {
      if (this.failure) reject(this.failure);
      else this.waiting.set(request.id, { resolve, reject });
    });
    reply.catch(() => {}); // a request dropped by an interruption is never awaited
    worker.postMessage(request);
    return reply;
  }

  /**
   * Lists, stats and (content mode) hashes one directory of the tree under `root`. The promise is
   * marked handled: one that fails after its caller stopped waiting (an interruption) is not an
   * unhandled rejection.
   */
  describe(root: string, dir: ManifestDir): Promise<DescribedDir> {
    const described = this.send({
      kind: 'describe',
      id: this.nextId++,
      root,
      rel: dir.rel,
      inner: dir.inner,
    }).then((reply) => fromTransfer<DescribedDir>((reply as { described: DescribedDir }).described));
    described.catch(() => {});
    return described;
  }

  /**
   * Hashes files (each against the facts it was stat'ed with), spread over the workers in chunks:
   * each result is `{ hash, changed }`, or the error the verifier counts (`VanishedError`,
   * `SideError`).
   */
  async hash(
    files: { path: string; facts: FileFacts }[],
  ): Promise<({ hash: string; changed: boolean } | Error)[]> {
    const chunks: (typeof files)[] = [];
    let chunk: typeof files = [];
    let bytes = 0;
    for (const file of files) {
      chunk.push(file);
      bytes += file.facts.size ?? 0;
      if (chunk.length >= HASH_CHUNK_FILES || bytes >= HASH_CHUNK_BYTES) {
        chunks.push(chunk);
        chunk = [];
        bytes = 0;
      }
    }
    if (chunk.length > 0) chunks.push(chunk);
    const replies = await Promise.all(
      chunks.map((files) => this.send({ kind: 'hash', id: this.nextId++, files, quiet: false })),
    );
    return replies.flatMap((reply) => (reply as { files: HashedFile[] }).files.map(asResult));
  }

  /**
   * `hash` of one chunk of files hashed before anyone knows whether they will be compared: their
   * bytes are not told to `onBytes` but given with their reads, to be counted once they are used.
   */
  async hashQuietly(files: { path: string; facts: FileFacts }[]): Promise<QuietReads> {
    const reply = await this.send({ kind: 'hash', id: this.nextId++, files, quiet: true });
    const { files: hashed, bytes } = reply as { files: HashedFile[]; bytes: number[] };
    return { reads: hashed.map(asResult), bytes };
  }

  /** Ends the workers; what was still asked of them is rejected. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Files, and bytes, per request to hash: enough to outweigh a message, few enough to share the work. */
export const HASH_CHUNK_FILES = 64;
export const HASH_CHUNK_BYTES = 8 * 1024 * 1024;

function asResult(file: HashedFile): { hash: string; changed: boolean } | Error {
  if ('hash' in file) return file;
  if ('vanished' in file) return new VanishedError('source');
  if ('problem' in file) return new SideError('source', file.problem);
  return new Error(file.unexpected);
}
