import { FindingLimits, type FindingsLine, FindingsLineSchema, formatIssues } from '@sms/domain';
import * as v from 'valibot';
import { SmsValidationError } from './errors.js';

const encoder = new TextEncoder();

/** Lines are gathered into chunks of about this many characters before they are encoded and compressed. */
const CHUNK_CHARS = 64 * 1024;

/**
 * One line of a findings upload (its JSON and a newline), checked against the
 * domain's schema and the line limit; `index` names it in the error.
 */
export function findingsLineText(line: unknown, index: number): string {
  const root = `findings[${index}]`;
  const parsed = v.safeParse(FindingsLineSchema, line);
  if (!parsed.success) {
    throw new SmsValidationError(`invalid ${root}: ${formatIssues(parsed.issues, { root })}`, parsed.issues);
  }
  const text = JSON.stringify(parsed.output);
  // a UTF-16 code unit is at most 3 bytes of UTF-8: most lines need no encoding to be measured
  if (text.length * 3 > FindingLimits.lineMaxBytes) {
    const bytes = encoder.encode(text).length;
    if (bytes > FindingLimits.lineMaxBytes) {
      throw new SmsValidationError(
        `invalid ${root}: the line is ${bytes} bytes of JSON, the API takes at most ${FindingLimits.lineMaxBytes}: shorten its reason`,
        [],
      );
    }
  }
  return `${text}\n`;
}

/** The findings of an upload: a list, or lines produced as they are read. */
export type FindingsSource = Iterable<FindingsLine> | AsyncIterable<FindingsLine>;

/**
 * The gzip NDJSON body of a findings upload, made as the server reads it:
 * each line is checked before it is sent. A bad line ends the body with an
 * error (`failure()` returns it: the request is cut off, and the server
 * stores nothing of a cut-off upload). `ended` settles when every line has
 * been read.
 */
export function findingsBody(findings: FindingsSource) {
  const iterator =
    Symbol.asyncIterator in findings
      ? findings[Symbol.asyncIterator]()
      : (findings as Iterable<FindingsLine>)[Symbol.iterator]();
  let index = 0;
  let failure: unknown;
  let onEnd: () => void = () => {};
  const ended = new Promise<void>((resolve) => {
    onEnd = resolve;
  });
  const ndjson = new ReadableStream<BufferSource>({
    async pull(controller) {
      let chunk = '';
      try {
        while (chunk.length < CHUNK_CHARS) {
          const next = await iterator.next();
          if (next.done) {
            if (chunk !== '') controller.enqueue(encoder.encode(chunk));
            controller.close();
            onEnd();
            return;
          }
          chunk += findingsLineText(next.value, index++);
        }
      } catch (error) {
        failure = error;
        await iterator.return?.();
        throw error;
      }
      controller.enqueue(encoder.encode(chunk));
    },
    async cancel() {
      await iterator.return?.();
    },
  });
  return {
    body: ndjson.pipeThrough(new CompressionStream('gzip')),
    ended,
    /** The error that ended the body early (a bad line, or the iterable's own), if one did. */
    failure: () => failure,
  };
}

/** The whole gzip body of findings, in memory: for a list (replayed by retries) and for signing. */
export async function bufferedFindingsBody(findings: FindingsSource): Promise<Uint8Array<ArrayBuffer>> {
  const { body, failure } = findingsBody(findings);
  try {
    return new Uint8Array(await new Response(body).arrayBuffer());
  } catch (error) {
    throw failure() ?? error;
  }
}
