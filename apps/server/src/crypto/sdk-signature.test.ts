import {
  EMPTY_BODY_SHA256,
  parseSdkDate,
  type SignedRequestParts,
  sha256Hex,
  signRequest,
} from '@sms/domain/signature';
import { describe, expect, it } from 'vitest';
import { officialSignature } from '../test-support/sdk.js';
import { parseAuthorization, signatureMatches } from './sdk-signature.js';

const key = { ak: 'AKAKAKAKAKAKAKAKAKAK', sk: 'sEcReTsEcReTsEcReTsEcReTsEcReTsEcReTsEcR', projectId: 'p-1' };
const DATE = '20261204T185512Z';

/** What the server reads off a request the official signer signed (as `fetch` would send it). */
function received(signed: ReturnType<typeof officialSignature>): SignedRequestParts {
  const url = new URL(signed.url);
  const headers = new Headers(signed.init.headers);
  const body = typeof signed.init.body === 'string' ? signed.init.body : '';
  return {
    method: signed.init.method ?? 'GET',
    rawPath: url.pathname,
    rawQuery: url.search.slice(1),
    header: (name) => headers.get(name) ?? undefined,
    payloadHash: sha256Hex(body),
    date: headers.get('x-sdk-date') ?? '',
  };
}

function authOf(signed: ReturnType<typeof officialSignature>) {
  const auth = parseAuthorization(new Headers(signed.init.headers).get('authorization') ?? '');
  if (!auth) throw new Error('the official signer wrote an Authorization we cannot read');
  return auth;
}

describe('the SDK-HMAC-SHA256 signature, against the official SDK core’s AKSKSigner', () => {
  const cases = [
    {
      what: 'an upload',
      method: 'POST',
      path: '/v3/tasks/0b4c/consistency-result',
      body: { consistency_result: [] },
    },
    { what: 'a read', method: 'GET', path: '/v3/tasks/0b4c/consistency-result' },
    {
      what: 'a list with a query',
      method: 'GET',
      path: '/v3/tasks',
      query: { name: 'web 01+ü', limit: '10', id: 'a*b' },
    },
    {
      what: 'a repeated query name',
      method: 'GET',
      path: '/v3/tasks',
      query: { state: ['RUNNING', 'READY'] },
    },
    { what: 'a path with encoded characters', method: 'DELETE', path: '/v3/tasks/a%20b!()*~' },
    { what: 'a path with a trailing slash', method: 'GET', path: '/v3/tasks/' },
    { what: 'a body with non-ASCII text', method: 'POST', path: '/v3/tasks', body: { name: 'żółw ✓ "q"' } },
  ];

  /** A case as the official signer signs it, at DATE. */
  const officiallySigned = (c: (typeof cases)[number]) =>
    officialSignature({
      url: `http://127.0.0.1:8080${c.path}`,
      method: c.method,
      key,
      date: DATE,
      ...(c.query ? { query: c.query } : {}),
      ...(c.body ? { body: c.body } : {}),
    });

  it.each(cases)('accepts $what signed by the official signer, with that secret only', (c) => {
    const signed = officiallySigned(c);
    const request = received(signed);
    const auth = authOf(signed);
    expect(auth.accessKey).toBe(key.ak);
    expect(auth.signedHeaders).toContain('x-sdk-date');
    expect(request.date).toBe(DATE);
    expect(signatureMatches(request, auth, key.sk)).toBe(true);
    expect(signatureMatches(request, auth, `${key.sk.slice(0, -1)}x`)).toBe(false);
    expect(signatureMatches({ ...request, method: c.method === 'GET' ? 'HEAD' : 'GET' }, auth, key.sk)).toBe(
      false,
    );
    expect(signatureMatches({ ...request, payloadHash: sha256Hex('{"x":1}') }, auth, key.sk)).toBe(false);
    expect(signatureMatches({ ...request, rawQuery: `${request.rawQuery}&extra=1` }, auth, key.sk)).toBe(
      false,
    );
  });

  it.each(cases)(
    'signs $what byte for byte as the official signer does (the signer @sms/client uses)',
    (c) => {
      const signed = officiallySigned(c);
      const ours = signRequest(
        {
          method: c.method,
          url: signed.url,
          headers: {
            ...(c.body ? { 'content-type': 'application/json' } : {}),
            'x-project-id': key.projectId,
          },
          payloadHash: c.body ? sha256Hex(JSON.stringify(c.body)) : EMPTY_BODY_SHA256,
        },
        { accessKey: key.ak, secretKey: key.sk },
        parseSdkDate(DATE)!,
      );
      expect(ours).toEqual({
        'X-Sdk-Date': DATE,
        Authorization: new Headers(signed.init.headers).get('authorization'),
      });
    },
  );

  it('reads only the SDKs’ Authorization form', () => {
    const sig = 'a'.repeat(64);
    expect(
      parseAuthorization(`SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=${sig}`),
    ).toEqual({
      accessKey: 'AK',
      signedHeaders: ['host', 'x-sdk-date'],
      signedHeaderList: 'host;x-sdk-date',
      signature: sig,
    });
    for (const bad of [
      '',
      'SDK-HMAC-SHA256',
      `SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=${sig.slice(1)}`,
      `SDK-HMAC-SHA256 Access=AK, SignedHeaders=Host, Signature=${sig}`,
      `SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;;x, Signature=${sig}`,
      `SDK-HMAC-SHA256 Access=AK, Signature=${sig}`,
      `SDK-HMAC-SHA1 Access=AK, SignedHeaders=host, Signature=${sig}`,
    ]) {
      expect(parseAuthorization(bad), bad).toBeUndefined();
    }
  });
});
