import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { Limits } from '../limits/index.js';
import {
  DIR_CHECK_ITSELF,
  FindingLimits,
  FindingSchema,
  FindingsLineSchema,
  FindingsQuerySchema,
  isTruncationMarker,
  RunIdSchema,
  resyncEntry,
} from './findings.js';

const good = { dir_check: '/srv', category: 'missing', path: 'a/b.txt', reason: 'not at the target' };

function message(schema: v.GenericSchema, input: unknown): string {
  const parsed = v.safeParse(schema, input);
  expect(parsed.success).toBe(false);
  return parsed.issues!.map((i) => i.message).join('; ');
}

describe('FindingSchema', () => {
  it('takes a report line as the agent writes it', () => {
    expect(v.parse(FindingSchema, good)).toEqual(good);
    const bytes = Buffer.from([0x61, 0xff, 0x62]);
    const latin = { ...good, path: 'a\\xffb', path_base64: bytes.toString('base64') };
    expect(v.parse(FindingSchema, latin)).toEqual(latin);
  });

  it('takes a path of 4096 characters and refuses 4097', () => {
    expect(v.is(FindingSchema, { ...good, path: 'p'.repeat(FindingLimits.pathMaxLength) })).toBe(true);
    expect(v.is(FindingSchema, { ...good, path: 'p'.repeat(FindingLimits.pathMaxLength + 1) })).toBe(false);
  });

  it('takes a dir_check of 1024 characters and refuses 1025, as the API', () => {
    expect(v.is(FindingSchema, { ...good, dir_check: 'd'.repeat(Limits.dirCheckMaxLength) })).toBe(true);
    expect(v.is(FindingSchema, { ...good, dir_check: 'd'.repeat(Limits.dirCheckMaxLength + 1) })).toBe(false);
  });

  it('takes a reason of 1024 characters and refuses 1025', () => {
    expect(v.is(FindingSchema, { ...good, reason: 'r'.repeat(1024) })).toBe(true);
    expect(v.is(FindingSchema, { ...good, reason: 'r'.repeat(1025) })).toBe(false);
  });

  it.each([
    ['', 'not an empty string'],
    ['/etc/passwd', 'without a leading /'],
    ['a/../../etc', '. or .. segments'],
    ['./a', '. or .. segments'],
    ['a/.', '. or .. segments'],
    ['..', '. or .. segments'],
    ['a//b', 'empty'],
    ['a\0b', 'NUL'],
    ['a\ud800b', 'lone surrogate'],
  ])('refuses the path %j, saying why', (path, why) => {
    expect(message(FindingSchema, { ...good, path })).toContain(why);
  });

  it('takes "." alone: dir_check itself (its own mode or owner, or a directory that cannot be listed)', () => {
    expect(DIR_CHECK_ITSELF).toBe('.');
    expect(v.is(FindingSchema, { ...good, path: DIR_CHECK_ITSELF })).toBe(true);
  });

  it('refuses an unknown category, an unknown field and bad base64, naming what was expected', () => {
    expect(message(FindingSchema, { ...good, category: 'gone' })).toContain(
      'different, missing, extra, error, transient',
    );
    expect(v.is(FindingSchema, { ...good, size: 1 })).toBe(false);
    expect(message(FindingSchema, { ...good, path_base64: 'not base64!' })).toContain('base64');
    expect(
      message(FindingSchema, {
        ...good,
        path: '/abs\\xff',
        path_base64: Buffer.from([0x2f, 0x61, 0x62, 0x73, 0xff]).toString('base64'),
      }),
    ).toContain('relative');
  });
});

describe('FindingSchema: path_base64', () => {
  const b64 = (bytes: number[] | string) => Buffer.from(bytes as never).toString('base64');

  it('takes bytes that are not UTF-8 only with their display form as path', () => {
    expect(
      v.is(FindingSchema, { ...good, path: 'caf\\xe9', path_base64: b64([0x63, 0x61, 0x66, 0xe9]) }),
    ).toBe(true);
    expect(
      message(FindingSchema, { ...good, path: 'harmless.txt', path_base64: b64([0x63, 0x61, 0x66, 0xe9]) }),
    ).toContain('path must show the bytes of path_base64');
  });

  it('refuses UTF-8 bytes in path_base64: a name that climbs out cannot hide there', () => {
    expect(
      message(FindingSchema, { ...good, path: 'harmless.txt', path_base64: b64('../../home/u/.ssh/id_rsa') }),
    ).toContain('only for a name that is not UTF-8');
    // nor in its display form: the path's rules hold for the bytes
    const climbing = [0x2e, 0x2e, 0x2f, 0xff];
    expect(v.is(FindingSchema, { ...good, path: '../\\xff', path_base64: b64(climbing) })).toBe(false);
  });

  it('refuses a NUL in dir_check and reason, which PostgreSQL cannot keep', () => {
    expect(message(FindingSchema, { ...good, dir_check: '/a\0b' })).toContain('NUL');
    expect(message(FindingSchema, { ...good, reason: 'x\0' })).toContain('NUL');
    expect(message(FindingSchema, { ...good, reason: 'x\udfff' })).toContain('lone surrogate');
    expect(v.is(FindingsQuerySchema, { dir_check: '\0' })).toBe(false);
  });
});

describe('FindingsLineSchema', () => {
  it('tells a truncation marker from a finding', () => {
    const marker = v.parse(FindingsLineSchema, { dir_check: '/srv', truncated: true });
    expect(isTruncationMarker(marker)).toBe(true);
    expect(isTruncationMarker(v.parse(FindingsLineSchema, good))).toBe(false);
    expect(v.is(FindingsLineSchema, { dir_check: '/srv', truncated: false })).toBe(false);
    expect(v.is(FindingsLineSchema, { ...good, truncated: true })).toBe(false);
  });
});

describe('RunIdSchema', () => {
  it('takes a UUID and refuses anything else', () => {
    expect(v.is(RunIdSchema, crypto.randomUUID())).toBe(true);
    expect(v.is(RunIdSchema, crypto.randomUUID().toUpperCase())).toBe(true);
    expect(message(RunIdSchema, 'run-1')).toContain('UUID');
  });
});

describe('FindingsQuerySchema', () => {
  it('reads the query strings, with limits 1..1000', () => {
    expect(v.parse(FindingsQuerySchema, { limit: '1000', category: 'different,missing' })).toEqual({
      limit: 1000,
      category: ['different', 'missing'],
    });
    expect(v.is(FindingsQuerySchema, { limit: '1' })).toBe(true);
    expect(v.is(FindingsQuerySchema, { limit: '0' })).toBe(false);
    expect(v.is(FindingsQuerySchema, { limit: '1001' })).toBe(false);
    expect(v.is(FindingsQuerySchema, { limit: '1.5' })).toBe(false);
    expect(v.is(FindingsQuerySchema, { category: 'different,gone' })).toBe(false);
    expect(v.is(FindingsQuerySchema, { format: 'xml' })).toBe(false);
    expect(v.is(FindingsQuerySchema, { page: '2' })).toBe(false);
  });
});

describe('resyncEntry', () => {
  it('gives the path bytes and a newline, or NUL', () => {
    expect(Buffer.from(resyncEntry({ path: 'a/b' }, false)!).toString()).toBe('a/b\n');
    expect(Buffer.from(resyncEntry({ path: 'a/b' }, true)!).toString()).toBe('a/b\0');
    const raw = Buffer.from([0x61, 0xff]);
    expect(Buffer.from(resyncEntry({ path: 'a\\xff', path_base64: raw.toString('base64') }, true)!)).toEqual(
      Buffer.concat([raw, Buffer.from([0])]),
    );
  });

  it('leaves a name with a newline or a carriage return out of a list of lines, and keeps it in a NUL-separated one', () => {
    expect(resyncEntry({ path: 'a\nb' }, false)).toBeUndefined();
    // rsync --files-from ends a line at CR too: "report\rsecret.key" would name secret.key
    expect(resyncEntry({ path: 'report\rsecret.key' }, false)).toBeUndefined();
    expect(Buffer.from(resyncEntry({ path: 'report\rsecret.key' }, true)!).toString()).toBe(
      'report\rsecret.key\0',
    );
    expect(Buffer.from(resyncEntry({ path: 'a\nb' }, true)!).toString()).toBe('a\nb\0');
  });

  it('writes a path that starts with # or ; as ./…: rsync reads such a line as a comment, with --from0 too', () => {
    expect(Buffer.from(resyncEntry({ path: '#draft.txt#' }, false)!).toString()).toBe('./#draft.txt#\n');
    expect(Buffer.from(resyncEntry({ path: ';notes' }, true)!).toString()).toBe('./;notes\0');
    expect(Buffer.from(resyncEntry({ path: 'a/#b' }, false)!).toString()).toBe('a/#b\n');
  });
});
