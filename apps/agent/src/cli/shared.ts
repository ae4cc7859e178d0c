import { formatIssues, TaskIdSchema } from '@sms/domain';
import { type Command, InvalidArgumentError } from 'commander';
import * as v from 'valibot';
import { METADATA_FIELDS, type MetadataField } from '../engine/types.js';
import { readEnv } from '../env.js';
import type { DeliveryOutcome } from '../upload/deliver.js';

/** Exit statuses: 0 consistent (or done), 1 inconsistencies found, 2 usage error or verification impossible. */
export const EXIT = { consistent: 0, inconsistent: 1, error: 2 } as const;

/** A mistake on the command line: the message says what to give instead. */
export class UsageError extends Error {}

export function positiveInteger(max: number) {
  return (value: string) => {
    if (!/^\d+$/.test(value) || Number(value) > max)
      throw new InvalidArgumentError(`expected a whole number 0..${max}`);
    return Number(value);
  };
}

export function taskId(value: string): string {
  const parsed = v.safeParse(TaskIdSchema, value);
  if (!parsed.success) throw new InvalidArgumentError(formatIssues(parsed.issues, { root: 'task id' }));
  return parsed.output;
}

/** `--metadata mode,uid,gid`: the fields named, each once. */
export function metadataFields(value: string): MetadataField[] {
  const fields = value
    .split(',')
    .map((field) => field.trim())
    .filter((field) => field !== '');
  const unknown = fields.filter((field) => !(METADATA_FIELDS as readonly string[]).includes(field));
  if (fields.length === 0 || unknown.length > 0)
    throw new InvalidArgumentError(
      `expected a comma-separated list of ${METADATA_FIELDS.join(', ')}${unknown.length > 0 ? ` (not ${unknown.join(', ')})` : ''}`,
    );
  return [...new Set(fields)] as MetadataField[];
}

export const collect = (value: string, previous: string[]) => [...previous, value];
export const say = (text: string) => process.stderr.write(`${text}\n`);

export function summarizeDeliveries(
  outcomes: DeliveryOutcome[],
  spoolDir: string,
): { ok: boolean; lines: string[] } {
  const delivered = outcomes.filter((o) => o.status === 'delivered').length;
  const kept = outcomes.filter((o) => o.status === 'kept');
  const failed = outcomes.filter((o) => o.status === 'failed');
  const lines = [
    `uploads: ${delivered} delivered, ${kept.length} kept in the spool, ${failed.length} refused`,
  ];
  if (kept.length > 0)
    lines.push(`kept in ${spoolDir} (${kept[0]!.reason}); deliver them later with: sms-agent flush`);
  for (const f of failed) lines.push(`refused by the server, moved to ${f.movedTo}: ${f.reason}`);
  return { ok: kept.length === 0 && failed.length === 0, lines };
}

export function uploadOptions(command: Command): Command {
  return command
    .option(
      '--endpoint <url>',
      'the server (default: $SMS_ENDPOINT); credentials from $SMS_TOKEN, or $SMS_USERNAME, $SMS_PASSWORD and $SMS_PROJECT',
    )
    .option(
      '--spool-dir <dir>',
      'where uploads wait until the server takes them (default: $SMS_SPOOL_DIR, else ~/.local/state/sms-agent/spool)',
    )
    .option('--timeout <ms>', 'milliseconds per upload attempt', positiveInteger(3_600_000), 30_000)
    .option('--retries <n>', 'retries of an upload before it stays in the spool', positiveInteger(100), 4);
}

export interface UploadFlags {
  endpoint?: string;
  spoolDir?: string;
  timeout: number;
  retries: number;
}

/** The upload side (client, ky, spool) is loaded only by the commands that upload: verify starts faster without it. */
export async function uploadContext(flags: UploadFlags) {
  const [{ Spool }, { createClient }, upload] = await Promise.all([
    import('../upload/spool.js'),
    import('../upload/client.js'),
    import('../upload/deliver.js'),
  ]);
  const env = readEnv();
  const spool = new Spool(flags.spoolDir ?? env.spoolDir);
  const client = createClient(env, {
    endpoint: flags.endpoint,
    timeoutMs: flags.timeout,
    retries: flags.retries,
  });
  return { spool, client, upload };
}
