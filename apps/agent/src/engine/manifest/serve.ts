import { ExcludeMatcher } from '../exclude.js';
import { describeError } from '../listing.js';
import type { Mode } from '../types.js';
import { fromTransfer } from '../wire.js';
import { type DescribedDir, describeDirectory, type ManifestDir } from './describe.js';

/** What a manifest worker is started with (`workerData`). */
export interface ManifestWorkerData {
  role: 'manifest';
  mode: Mode;
  excludes: string[];
}

export type ManifestWorkerRequest = { id: number; root: string } & ManifestDir;
export type ManifestWorkerReply =
  | { type: 'bytes'; bytes: number }
  | { type: 'done'; id: number; described: DescribedDir }
  | { type: 'failed'; id: number; message: string };

/** The loop of a manifest worker: one directory described per request, in the order asked. */
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
  port.on('message', (raw) => {
    const request = fromTransfer<ManifestWorkerRequest>(raw);
    // without `interruptible` nothing in it waits: requests are described one after the other
    describeDirectory(request.root, request, { mode: data.mode, excludes, buffer, onBytes }).then(
      (described) => {
        described.bytes = 0; // told as read
        if (unreported > 0) port.postMessage({ type: 'bytes', bytes: unreported });
        unreported = 0;
        port.postMessage({ type: 'done', id: request.id, described } satisfies ManifestWorkerReply);
      },
      (error: unknown) =>
        port.postMessage({
          type: 'failed',
          id: request.id,
          message: describeError(error),
        } satisfies ManifestWorkerReply),
    );
  });
}
