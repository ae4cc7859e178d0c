import { createHash, type Hash } from 'node:crypto';
import { ErrorCodes, formatIssues, SmsError } from '@sms/domain';
import * as v from 'valibot';
import type { NdjsonDigest, NdjsonLine } from '../services/streamed-body.js';

export type { NdjsonDigest, NdjsonLine } from '../services/streamed-body.js';

const NEWLINE = 0x0a;

/** Empty lines a body may hold at most: NDJSON writers write none (a stream of them is no upload). */
export const MAX_EMPTY_LINES = 1000;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function invalid(message: string): SmsError {
  return new SmsError(ErrorCodes.InvalidParameter, message);
}

/**
 * The lines of an NDJSON body, read as a stream (never held whole): each
 * line is UTF-8 JSON valid by `schema`, at most `maxLineBytes` long; empty
 * lines are skipped (their numbers still count), MAX_EMPTY_LINES of them at
 * most (a gzip of newlines grows a thousandfold: the work a body costs is then
 * bounded by its lines, each checked and counted). A broken rule throws a 400
 * (`SMS.1001`) naming the line and the rule; a gzip body that is not gzip,
 * or a stream that is cut, throws too. `digest` is filled once the body ended.
 */
export async function* readNdjson<S extends v.GenericSchema>(
  body: ReadableStream<Uint8Array> | null,
  options: { schema: S; gzip: boolean; maxLineBytes: number; digest: Partial<NdjsonDigest> },
): AsyncGenerator<NdjsonLine<v.InferOutput<S>>> {
  const sent = createHash('sha256');
  const content = createHash('sha256');
  const counted = { empty: 0 };
  let source: ReadableStream<Uint8Array> = body ?? new ReadableStream({ start: (c) => c.close() });
  source = source.pipeThrough(tap(sent));
  if (options.gzip) source = source.pipeThrough(new DecompressionStream('gzip') as never);
  const reader = source.getReader();
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let lineNumber = 0;
  const lineOf = (bytes: Uint8Array): NdjsonLine<v.InferOutput<S>> | undefined => {
    lineNumber++;
    if (bytes.length === 0 || (bytes.length === 1 && bytes[0] === 0x0d)) {
      if (++counted.empty > MAX_EMPTY_LINES)
        throw invalid(
          `line ${lineNumber}: more than ${MAX_EMPTY_LINES} empty lines; one finding a line, and no empty ones`,
        );
      return undefined;
    }
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      throw invalid(`line ${lineNumber}: not valid UTF-8`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      const detail = error instanceof Error ? error.message.slice(0, 200) : '';
      throw invalid(`line ${lineNumber}: not valid JSON: ${detail}`);
    }
    const parsed = v.safeParse(options.schema, json);
    if (!parsed.success)
      throw invalid(`line ${lineNumber}: ${formatIssues(parsed.issues, { root: 'line' })}`.slice(0, 1000));
    return { line: lineNumber, value: parsed.output };
  };
  const tooLong = () =>
    invalid(
      `line ${lineNumber + 1}: longer than ${options.maxLineBytes} bytes, the longest line a finding can need; one finding a line`,
    );
  for (;;) {
    let chunk: Awaited<ReturnType<typeof reader.read>>;
    try {
      chunk = await reader.read();
    } catch (error) {
      if (error instanceof SmsError) throw error;
      const detail = error instanceof Error ? error.message : String(error);
      throw invalid(
        options.gzip
          ? `the body is not valid gzip or was cut off (Content-Encoding: gzip): ${detail}`.slice(0, 500)
          : `the body was cut off: ${detail}`.slice(0, 500),
      );
    }
    if (chunk.done) break;
    const bytes = chunk.value;
    content.update(bytes);

    let start = 0;
    for (;;) {
      const end = bytes.indexOf(NEWLINE, start);
      if (end < 0) break;
      const piece = bytes.subarray(start, end);
      if (pendingBytes + piece.length > options.maxLineBytes) throw tooLong();
      const whole = pendingBytes === 0 ? piece : concat([...pending, piece], pendingBytes + piece.length);
      pending = [];
      pendingBytes = 0;
      const line = lineOf(whole);
      if (line) yield line;
      start = end + 1;
    }
    if (start < bytes.length) {
      const rest = bytes.slice(start);
      if (pendingBytes + rest.length > options.maxLineBytes) throw tooLong();
      pending.push(rest);
      pendingBytes += rest.length;
    }
  }
  if (pendingBytes > 0) {
    const line = lineOf(concat(pending, pendingBytes));
    if (line) yield line;
  }
  options.digest.sentSha256 = sent.digest('hex');
  options.digest.contentHash = content.digest('base64url');
}

/** A pass-through stream that feeds what goes by into `hash`. */
function tap(hash: Hash): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream({
    transform(chunk, controller) {
      hash.update(chunk);
      controller.enqueue(chunk);
    },
  });
}

function concat(parts: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
