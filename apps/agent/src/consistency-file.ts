import { readFileSync } from 'node:fs';
import { type ConsistencyResult, ConsistencyResultSchema, formatIssues } from '@sms/domain';
import * as v from 'valibot';

/** A result file that cannot be uploaded: the message says why. */
export class ResultFileError extends Error {
  override name = 'ResultFileError';
}

/** Every result of a `--json` document may be uploaded in several uploads: no 30-entry limit here. */
const ResultFileSchema = v.object({
  consistency_result: v.array(ConsistencyResultSchema),
});

/** Reads the `consistency_result` of a saved `verify --json` output, checked with the domain schema. */
export function read(file: string): ConsistencyResult[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ResultFileError(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ResultFileError(
      `${file} is not JSON (${error instanceof Error ? error.message : String(error)}): save it with sms-agent verify --json > ${file}`,
    );
  }
  const parsed = v.safeParse(ResultFileSchema, json);
  if (!parsed.success)
    throw new ResultFileError(
      `${file} is not a result of sms-agent verify --json: ${formatIssues(parsed.issues, { root: 'result' })}`,
    );
  const seen = new Set<string>();
  for (const r of parsed.output.consistency_result) {
    if (seen.has(r.dir_check)) throw new ResultFileError(`${file}: ${r.dir_check} appears twice`);
    seen.add(r.dir_check);
  }
  return parsed.output.consistency_result;
}
