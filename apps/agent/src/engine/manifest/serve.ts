import type { FileFacts } from '../difference.js';
import { ExcludeMatcher } from '../exclude.js';
import { describeError, type Name, SideError, VanishedError } from '../listing.js';
import type { Mode } from '../types.js';
import { fromTransfer } from '../wire.js';
import { type DescribedDir, describeDirectory, type ManifestDir } from './describe.js';
import { hashFile } from './format.js';
import { loadHash, type ManifestHash } from './hash.js';

/** What a manifest worker is started with (`workerData`). */
export interface ManifestWorkerData {
  role: 'manifest';
  mode: Mode;
  hash: ManifestHash;
  excludes: string[];
}

export type ManifestWorkerRequest =
  | ({ kind: 'describe'; id: number; root: string } & ManifestDir)
  /** Source files to hash, for a verification through a manifest. */
  | { kind: 'hash'; id: number; files: { path: Name; facts: FileFacts }[]; quiet: boolean };

/** A file hashed by a worker, or why it could not be (rebuilt as the error the verifier counts). */
export type HashedFile =
  | { hash: string; changed: boolean }
  | { vanished: true }
  | { problem: string }
  | { unexpected: string };
export type ManifestWorkerReply =
  | { type: 'bytes'; bytes: number }
  | { type: 'done'; id: number; described: DescribedDir }
  /** `bytes`: for a quiet request, the bytes read of each file (told with no `bytes` message). */
  | { type: 'hashed'; id: number; files: HashedFile[]; bytes?: number[] }
  | { type: 'failed'; id: number; message: string };

/** The loop of a manifest worker: one directory described, or a list of files hashed, per request, in the order asked. */
export function serveManifest(
  data: ManifestWorkerData,
  port: { on(event: 'message', f: (m: ManifestWorkerRequest) => void): void; postMessage(m: unknown): void },
): void {
  const excludes = new ExcludeMatcher(data.excludes);
  const buffer = Buffer.allocUnsafe(256 * 1024);
  let unreported = 0;
  let reported = Date.now();
  const onBytes = (n: number) => {
    unreported += n;
    if (Date.now() - reported < 200) return;
    port.postMessage({ type: 'bytes', bytes: unreported } satisfies ManifestWorkerReply);
    unreported = 0;
    reported = Date.now();
  };
  const loaded = loadHash(data.hash);
  /** Posts a reply, after the bytes read for it that were not told yet. */
  const reply = (message: ManifestWorkerReply) => {
    if (unreported > 0) port.postMessage({ type: 'bytes', bytes: unreported } satisfies ManifestWorkerReply);
    unreported = 0;
    port.postMessage(message);
  };
  /** Bytes read of the file being hashed for a quiet request. */
  let read = 0;
  const count = (n: number) => {
    read += n;
  };
  const hashed = ({ path, facts }: { path: Name; facts: FileFacts }, quiet: boolean): HashedFile => {
    read = 0;
    try {
      return hashFile(path, facts, buffer, quiet ? count : onBytes, data.hash);
    } catch (error) {
      if (error instanceof VanishedError) return { vanished: true };
      if (error instanceof SideError) return { problem: error.problem };
      return { unexpected: describeError(error) };
    }
  };
  const hashedReply = (request: Extract<ManifestWorkerRequest, { kind: 'hash' }>): ManifestWorkerReply => {
    if (!request.quiet)
      return { type: 'hashed', id: request.id, files: request.files.map((f) => hashed(f, false)) };
    const bytes: number[] = [];
    const files = request.files.map((f) => {
      const file = hashed(f, true);
      bytes.push(read);
      return file;
    });
    return { type: 'hashed', id: request.id, files, bytes };
  };
  port.on('message', (raw) => {
    const request = fromTransfer<ManifestWorkerRequest>(raw);
    // without `interruptible` nothing in it waits: requests are answered one after the other
    loaded
      .then(
        async (): Promise<ManifestWorkerReply> =>
          request.kind === 'hash'
            ? hashedReply(request)
            : {
                type: 'done',
                id: request.id,
                described: await describeDirectory(request.root, request, {
                  mode: data.mode,
                  hash: data.hash,
                  excludes,
                  buffer,
                  onBytes,
                  // a large directory's entries told as no bytes at all, at most every 200 ms: its work moves
                  onEntry: () => onBytes(0),
                }),
              },
      )
      .then(reply, (error: unknown) =>
        port.postMessage({
          type: 'failed',
          id: request.id,
          message: describeError(error),
        } satisfies ManifestWorkerReply),
      );
  });
}
