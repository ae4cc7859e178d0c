/*
 * What a streamed request body gives a service (the HTTP layer's NDJSON reader makes these): here,
 * so that services never import from the HTTP layer above them.
 */

/** One line of an NDJSON body: its number (from 1) and its value, valid by the schema. */
export interface NdjsonLine<T> {
  line: number;
  value: T;
}

/** What reading the body found out once it ended: the hashes of the bytes as sent and as decompressed. */
export interface NdjsonDigest {
  /** SHA-256 (hex) of the body as it was sent (compressed or not): what a signature covers. */
  sentSha256: string;
  /** SHA-256 (base64url) of the NDJSON itself: what an idempotent retry is compared by. */
  contentHash: string;
}
