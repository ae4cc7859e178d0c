import { randomUUID } from 'node:crypto';
import type { ConsistencyResult } from '@sms/domain';

export interface LoadOutcome {
  /** dir_check of every upload answered 200 → the results that were sent */
  acknowledged: Map<string, ConsistencyResult[]>;
  /** every upload sent, acknowledged or not */
  sent: Map<string, ConsistencyResult[]>;
  failures: number;
  /** uploads whose first server failed and that were sent again, same key, to `failoverUrl` */
  failedOver: number;
  otherStatuses: Map<number, number>;
}

/**
 * Many concurrent uploaders against one task for a fixed time (loopback only,
 * bounded in time): each upload is unique (its first dir_check names it) and
 * carries its own idempotency key. With several `urls`, uploader `w` sends to
 * `urls[w % urls.length]`; with `failoverUrl`, an upload whose server fails
 * (killed) is sent again with the same key there, as an agent retries.
 */
export async function runUploaders(options: {
  url: string;
  urls?: readonly string[];
  failoverUrl?: string;
  token: string;
  taskId: string;
  concurrency: number;
  durationMs: number;
}): Promise<LoadOutcome> {
  const outcome: LoadOutcome = {
    acknowledged: new Map(),
    sent: new Map(),
    failures: 0,
    failedOver: 0,
    otherStatuses: new Map(),
  };
  const urls = options.urls ?? [options.url];
  const deadline = Date.now() + options.durationMs;
  await Promise.all(
    Array.from({ length: options.concurrency }, async (_, worker) => {
      for (let seq = 0; Date.now() < deadline; seq++) {
        const name = `/load/w${worker}/u${seq}`;
        const results: ConsistencyResult[] = Array.from({ length: 1 + (seq % 30) }, (_, i) => ({
          dir_check: i === 0 ? name : `${name}/d${i}`,
          num_total_files: 1000 + i,
          num_different_files: i % 3,
          num_target_miss_files: i % 5,
          num_target_more_files: i % 7,
        }));
        outcome.sent.set(name, results);
        const key = randomUUID();
        const send = async (url: string) => {
          const res = await fetch(`${url}/v3/tasks/${options.taskId}/consistency-result`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'x-auth-token': options.token,
              'idempotency-key': key,
            },
            body: JSON.stringify({ consistency_result: results }),
            signal: AbortSignal.timeout(10_000),
          });
          await res.arrayBuffer();
          if (res.status === 200) outcome.acknowledged.set(name, results);
          else outcome.otherStatuses.set(res.status, (outcome.otherStatuses.get(res.status) ?? 0) + 1);
        };
        const url = urls[worker % urls.length] as string;
        try {
          await send(url);
        } catch {
          outcome.failures++;
          if (options.failoverUrl !== undefined && options.failoverUrl !== url) {
            outcome.failedOver++;
            await send(options.failoverUrl).catch(() => outcome.failures++);
          } else {
            // the server is gone (killed): wait a little instead of spinning
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      }
    }),
  );
  return outcome;
}
