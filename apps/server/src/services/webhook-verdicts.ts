import type { VerdictChange } from '../storage/webhook-outbox.js';
import type { DueEvent, WebhookStore } from '../storage/webhook-store.js';

/**
 * `verdict.changed` events as they are sent: held while a task's verdict still moves, and the
 * changes of one task merged (WebhookService's deliveries call `coalesceVerdictChange` for each).
 */

/**
 * A task's verdict changes are sent once its uploads have paused this long: a run's uploads (30
 * directories each) move the verdict one after another, and only where they leave it counts.
 */
export const VERDICT_HOLD_MS = 10_000;
/** A verdict that keeps changing is sent at the latest once its first unsent change is this old. */
export const VERDICT_HOLD_MAX_MS = 5 * 60_000;
export const VERDICT_CHANGED = 'verdict.changed';
/**
 * A stored verdict change's own field, never sent: the verdict its receiver may still be on, set
 * when an attempted change before it (which may or may not have reached the receiver) was
 * superseded. A merge of changes that come back to where they started is then still sent.
 */
const UNSURE = 'unconfirmed_previous_verdict';

type StoredChange = VerdictChange & { [UNSURE]?: VerdictChange['verdict'] };

/** An event's payload as it is sent: without the fields kept for the merge. */
export function sentPayload(stored: string): { task_id?: string } {
  const { [UNSURE]: _unsure, ...payload } = JSON.parse(stored) as { task_id?: string; [UNSURE]?: string };
  return payload;
}

/**
 * A verdict change as it is sent: merged with the task's other changes not yet attempted for this
 * webhook (the first's previous verdict, the last's verdict, totals and run), the others then
 * `superseded`; none when they come back to where they started (all superseded). It waits while
 * the last is younger than the hold (the task's verdict still moves), up to VERDICT_HOLD_MAX_MS
 * from the first. A change already attempted (its receiver may have it) is never merged: while a
 * later one is waiting it is superseded rather than tried again, as the later tells the receiver
 * where the verdict is now (and a retry could only reach it after the later).
 */
export async function coalesceVerdictChange(
  webhooks: WebhookStore,
  event: DueEvent,
  now: number,
  holdMs: number,
): Promise<DueEvent | undefined> {
  const change = (payload: string) => JSON.parse(payload) as StoredChange;
  const task = change(event.payload).task_id;
  const pending = (await webhooks.pendingOf(event.webhook_id, VERDICT_CHANGED)).filter(
    (e) => change(e.payload).task_id === task,
  );
  const unsent = pending.filter((e) => e.attempts === 0);
  const retries = pending.filter((e) => e.attempts > 0 && e.id < (unsent.at(-1)?.id ?? 0));
  const first = unsent[0];
  if (retries.length > 0 && first) {
    // the receiver may be where the first retry started from, or where it went: the next change
    // sent must not be dropped as "back to where it was"
    const data = change(first.payload);
    if (data[UNSURE] === undefined) {
      const oldest = change(retries[0]!.payload);
      first.payload = JSON.stringify({ ...data, [UNSURE]: oldest[UNSURE] ?? oldest.previous_verdict });
      await webhooks.setPayload(first.id, first.payload);
    }
    await webhooks.supersede(retries.map((e) => e.id));
  }
  if (event.attempts > 0) return retries.some((e) => e.id === event.id) ? undefined : event;
  const newest = unsent.at(-1);
  if (newest === undefined || first === undefined || !unsent.some((e) => e.id === event.id)) return event;
  if (newest.created_at > now - holdMs && first.created_at > now - VERDICT_HOLD_MAX_MS) {
    const until = Math.min(newest.created_at + holdMs, first.created_at + VERDICT_HOLD_MAX_MS);
    await webhooks.take(event.id, event.next_attempt_at, until);
    return undefined;
  }
  if (unsent.length === 1) return event;
  const { [UNSURE]: unsure, previous_verdict: from } = change(first.payload);
  const { [UNSURE]: _last, ...last } = change(newest.payload);
  let previous = from;
  if (last.verdict === from) {
    if (unsure === undefined || unsure === last.verdict) {
      await webhooks.supersede(
        unsent.map((e) => e.id),
        true,
      );
      return undefined;
    }
    previous = unsure;
  }
  const others = unsent.filter((e) => e.id !== newest.id).map((e) => e.id);
  // one taken by another server meanwhile: left to it, and this merge to the next pass
  if ((await webhooks.supersede(others, true)) < others.length) return undefined;
  const payload = JSON.stringify({ ...last, previous_verdict: previous });
  await webhooks.setPayload(newest.id, payload);
  return { ...newest, payload, secret_sealed: event.secret_sealed };
}
