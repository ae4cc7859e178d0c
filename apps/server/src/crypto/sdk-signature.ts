import { timingSafeEqual } from 'node:crypto';
import { canonicalRequest, type SignedRequestParts, signCanonicalRequest } from '@sms/domain/signature';

/**
 * Checking the Huawei Cloud SDKs' request signature (`SDK-HMAC-SHA256`, API
 * Gateway's AK/SK signing): the `Authorization` header read, and the
 * signature compared. The canonical request, string to sign and signature are
 * built in `@sms/domain/signature`, exactly as the official Node.js SDK core's
 * `AKSKSigner` builds them, and shared with `@sms/client`, which signs.
 */

/** `Authorization: SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex`, as the SDKs write it. */
const AUTHORIZATION =
  /^SDK-HMAC-SHA256 +Access=([^\s,]+), *SignedHeaders=([^\s,]+), *Signature=([0-9a-f]{64})$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

export interface ParsedAuthorization {
  accessKey: string;
  /** Lower-case header names, in the order the client signed them. */
  signedHeaders: string[];
  /** As sent, `;`-separated: it is part of the canonical request verbatim. */
  signedHeaderList: string;
  signature: string;
}

/** The parts of an `Authorization` header, or undefined when it is not in the SDKs' form. */
export function parseAuthorization(header: string): ParsedAuthorization | undefined {
  const match = AUTHORIZATION.exec(header);
  if (!match) return undefined;
  const [, accessKey = '', signedHeaderList = '', signature = ''] = match;
  const signedHeaders = signedHeaderList.split(';');
  if (!signedHeaders.every((name) => HEADER_NAME.test(name))) return undefined;
  return { accessKey, signedHeaders, signedHeaderList, signature };
}

/** True when `auth.signature` is the request's signature under `secretKey` (compared in constant time). */
export function signatureMatches(
  request: SignedRequestParts,
  auth: ParsedAuthorization,
  secretKey: string,
): boolean {
  const given = Buffer.from(auth.signature, 'hex');
  const orders = [auth.signedHeaders];
  const nodeOrder = [...auth.signedHeaders].sort((a, b) => a.localeCompare(b));
  if (nodeOrder.join(';') !== auth.signedHeaders.join(';')) orders.push(nodeOrder);
  let matches = false;
  for (const order of orders) {
    const expected = Buffer.from(
      signCanonicalRequest(canonicalRequest(request, auth.signedHeaderList, order), request.date, secretKey),
      'hex',
    );
    if (timingSafeEqual(expected, given)) matches = true;
  }
  return matches;
}
