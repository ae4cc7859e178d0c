import { parentPort, workerData } from 'node:worker_threads';
import { Comparer } from './comparer.js';
import { type ManifestWorkerData, serveManifest } from './manifest/serve.js';
import type { EngineOptions, Unit } from './types.js';
import { fromTransfer, type WorkerReply, type WorkerRequest } from './wire.js';

/** The number of entries a worker looks at before it hands the rest of its stack back to share. */
const BUDGET = 4096;
const PROGRESS_EVERY_MS = 200;

/** A verification worker: compares the units it is sent, both sides, and tallies them. */
function serveVerification(options: EngineOptions): void {
  let lastProgress = { at: Date.now(), seen: 0, bytes: 0 };
  const send = (reply: WorkerReply) => parentPort!.postMessage(reply);

  const comparer = new Comparer(options, (c) => {
    if (Date.now() - lastProgress.at < PROGRESS_EVERY_MS) return;
    send({
      type: 'progress',
      entries: c.seen - lastProgress.seen,
      bytes: c.bytes - lastProgress.bytes,
      current: c.current,
    });
    lastProgress = { at: Date.now(), seen: c.seen, bytes: c.bytes };
    if (c.entries.length >= 1000) send({ type: 'entries', entries: c.takeEntries() });
  });

  parentPort!.on('message', (request: WorkerRequest) => {
    const stack: Unit[] = fromTransfer<Unit[]>(request.units);
    comparer.run(stack, BUDGET);
    send({
      type: 'done',
      remaining: stack,
      counts: comparer.tally.takeCounts(),
      unreadable: comparer.tally.takeUnreadable(),
      entries: comparer.tally.takeEntries(),
      seen: comparer.tally.seen - lastProgress.seen,
      bytes: comparer.tally.bytes - lastProgress.bytes,
    });
    lastProgress = { at: lastProgress.at, seen: comparer.tally.seen, bytes: comparer.tally.bytes };
  });
}

// one worker file (the executable embeds one worker's code) for both kinds of work
if ((workerData as { role?: string } | undefined)?.role === 'manifest')
  serveManifest(workerData as ManifestWorkerData, parentPort!);
else serveVerification(fromTransfer<EngineOptions>(workerData));
