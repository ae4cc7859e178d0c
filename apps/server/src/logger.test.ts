import { describe, expect, it } from 'vitest';
import { createMemoryLogger } from './logger.js';

describe('the logger', () => {
  it('writes JSON lines and redacts fields that look like secrets', () => {
    const logger = createMemoryLogger('info');
    logger.debug('hidden');
    logger.info('hello', { user: 'admin', token: 'sms1.abc', password: 'pw', authorization: 'x' });
    expect(logger.lines).toHaveLength(1);
    const line = JSON.parse(logger.lines[0]!);
    expect(line).toMatchObject({
      level: 'info',
      msg: 'hello',
      user: 'admin',
      token: '[redacted]',
      password: '[redacted]',
      authorization: '[redacted]',
    });
    expect(typeof line.time).toBe('string');
  });

  it('writes the lines meant for every level even when silent, and nothing else', () => {
    const logger = createMemoryLogger('silent');
    logger.error('hidden');
    logger.always('listening', { url: 'http://127.0.0.1:1' });
    expect(logger.lines.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ level: 'info', msg: 'listening', url: 'http://127.0.0.1:1' }),
    ]);
  });
});
