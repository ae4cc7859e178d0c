import { describe, expect, it } from 'vitest';
import {
  canonicalQueryString,
  canonicalUri,
  EMPTY_BODY_SHA256,
  formatSdkDate,
  parseSdkDate,
  sdkUrlEncode,
  sha256Hex,
  signCanonicalRequest,
} from './signature.js';

// The signature itself is compared with the official SDK core's AKSKSigner in
// @sms/server (crypto/sdk-signature.test.ts), which has the SDK installed.
describe('the SDK-HMAC-SHA256 signature’s parts', () => {
  it('encodes as the SDK does: unreserved characters kept, the rest as %XX in capitals', () => {
    expect(sdkUrlEncode("a-_.~Z9 !'()*/%é")).toBe('a-_.~Z9%20%21%27%28%29%2A%2F%25%C3%A9');
    expect(canonicalUri('/v3/tasks')).toBe('/v3/tasks/');
    expect(canonicalUri('/v3/a%20b/')).toBe('/v3/a%2520b/');
    expect(canonicalQueryString('b=2&a=1&b=1&c')).toBe('a=1&b=1&b=2&c=');
    expect(canonicalQueryString('name=web+01')).toBe('name=web%2001');
  });

  it('writes and reads X-Sdk-Date as the SDKs do, UTC to the second', () => {
    expect(formatSdkDate(Date.UTC(2026, 11, 4, 18, 55, 12, 999))).toBe('20261204T185512Z');
    expect(parseSdkDate('20261204T185512Z')).toBe(Date.UTC(2026, 11, 4, 18, 55, 12));
    for (const bad of [
      '20261304T185512Z',
      '20261204T185512',
      '2026-12-04T18:55:12Z',
      '20260230T000000Z',
      '20261204T245512Z',
    ])
      expect(parseSdkDate(bad), bad).toBeUndefined();
  });

  it('hashes an empty body as the SDKs do', () => {
    expect(sha256Hex('')).toBe(EMPTY_BODY_SHA256);
  });

  it('hashes and signs on a Node.js without process.getBuiltinModule (21, 22.0 to 22.2) as with it', () => {
    const withIt = [sha256Hex('abc'), signCanonicalRequest('GET\n/\n', '20261204T185512Z', 'secret')];
    const getBuiltinModule = process.getBuiltinModule;
    Object.defineProperty(process, 'getBuiltinModule', {
      value: undefined,
      configurable: true,
      writable: true,
    });
    try {
      expect([sha256Hex('abc'), signCanonicalRequest('GET\n/\n', '20261204T185512Z', 'secret')]).toEqual(
        withIt,
      );
    } finally {
      Object.defineProperty(process, 'getBuiltinModule', {
        value: getBuiltinModule,
        configurable: true,
        writable: true,
      });
    }
    expect(withIt[0]).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
