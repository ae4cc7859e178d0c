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
});
