import {
  AuthenticationError,
  ErrorCodes,
  FindingLimits,
  FindingsLineSchema,
  IDEMPOTENCY_KEY_HEADER,
  IdempotencyKeySchema,
  RUN_ID_HEADER,
  RunIdSchema,
  SDK_CONTENT_SHA256_HEADER,
  SmsError,
} from '@sms/domain';
import type { Hono } from 'hono';
import { validateInput } from '../body.js';
import type { AppEnv } from '../context.js';
import { authenticateStreamed, principalOf, streamedBodySha256 } from '../middleware/authenticate.js';
import { type NdjsonDigest, readNdjson } from '../ndjson.js';
import { TASK_PATH, taskIdOf } from './task-path.js';

export const NDJSON_MEDIA_TYPE = 'application/x-ndjson';
const NDJSON = /^application\/x-ndjson\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

/** The run of a request (`X-Sms-Run-Id`), in lower case; undefined when absent. */
export function runIdOf(header: string | undefined): string | undefined {
  return header === undefined ? undefined : validateInput(RunIdSchema, header, RUN_ID_HEADER).toLowerCase();
}

/**
 * `POST /v3/tasks/{task_id}/consistency-result/files` (ours): a run's
 * findings as NDJSON, optionally gzip, read as a stream. Checked in the
 * order of the SMS upload: token (403), headers (400), task (404),
 * permission (403), then each line (400 naming it), each directory (409
 * `SMS.1007` without a result); 200 once every line is stored.
 */
export function registerFindingsUpload(app: Hono<AppEnv>): void {
  app.post(`${TASK_PATH}/consistency-result/files`, authenticateStreamed, async (c) => {
    const taskId = taskIdOf(c);
    const runId = runIdOf(c.req.header(RUN_ID_HEADER));
    if (runId === undefined) {
      throw new SmsError(
        ErrorCodes.InvalidParameter,
        `${RUN_ID_HEADER}: required: the run whose findings these are, the same id its counts were uploaded with.`,
      );
    }
    const key = c.req.header(IDEMPOTENCY_KEY_HEADER);
    const idempotencyKey =
      key === undefined ? undefined : validateInput(IdempotencyKeySchema, key, IDEMPOTENCY_KEY_HEADER);
    const contentType = c.req.header('content-type')?.trim() ?? '';
    if (!NDJSON.test(contentType)) {
      throw new SmsError(
        contentType === '' ? ErrorCodes.ContentTypeMissing : ErrorCodes.ContentTypeNotJson,
        `The Content-Type ${contentType === '' ? 'is missing' : `${JSON.stringify(contentType.slice(0, 100))} is not ${NDJSON_MEDIA_TYPE}`}: send findings as ${NDJSON_MEDIA_TYPE}, one JSON object a line.`,
      );
    }
    const encoding = c.req.header('content-encoding')?.trim().toLowerCase() ?? 'identity';
    if (encoding !== 'identity' && encoding !== 'gzip') {
      throw new SmsError(
        ErrorCodes.InvalidParameter,
        `Content-Encoding: ${JSON.stringify(encoding.slice(0, 50))} is not supported; send gzip or no encoding.`,
      );
    }
    const digest: Partial<NdjsonDigest> = {};
    const lines = readNdjson(c.req.raw.body, {
      schema: FindingsLineSchema,
      gzip: encoding === 'gzip',
      maxLineBytes: FindingLimits.lineMaxBytes,
      digest,
    });
    const signedSha256 = streamedBodySha256(c);
    const answer = await c.get('deps').findings.upload(
      principalOf(c),
      taskId,
      runId,
      idempotencyKey,
      lines,
      digest,
      signedSha256 === undefined
        ? undefined
        : {
            sha256: signedSha256,
            refuse: () =>
              new AuthenticationError(
                `${SDK_CONTENT_SHA256_HEADER} is not the body's hash`,
                ErrorCodes.SignatureMismatch,
                `The body is not the one signed: ${SDK_CONTENT_SHA256_HEADER} must be the hex SHA-256 of the body as sent. Nothing was stored.`,
              ),
          },
    );
    return c.json(answer, 200);
  });
}
