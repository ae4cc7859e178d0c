import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

describe('the built package', () => {
  it('is importable from plain Node by its name, without a bundler', () => {
    const output = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const d = await import('@sms/domain'); console.log(typeof d.UpdateConsistencyResultRequestSchema, d.Limits.resultsPerUploadMax)",
      ],
      { cwd: packageDir, encoding: 'utf8' },
    );
    expect(output.trim()).toBe('object 30');
  });

  it('serves the limits alone at @sms/domain/limits, without loading valibot (the agent starts faster)', () => {
    const output = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const { Limits } = await import('@sms/domain/limits'); console.log(Limits.fileCountMax)",
      ],
      { cwd: packageDir, encoding: 'utf8' },
    );
    expect(output.trim()).toBe('1000000');
    // nothing else is loaded with it
    expect(readFileSync(`${packageDir}/dist/limits/limits.js`, 'utf8')).not.toMatch(/^import /m);
  });

  it('ships type declarations beside the JavaScript', () => {
    expect(existsSync(`${packageDir}/dist/index.js`)).toBe(true);
    expect(existsSync(`${packageDir}/dist/index.d.ts`)).toBe(true);
  });
});
