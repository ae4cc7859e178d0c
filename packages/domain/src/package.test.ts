import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** What an ES module script prints, run by plain Node in the package's folder. */
function runModule(script: string): string {
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: packageDir,
    encoding: 'utf8',
  }).trim();
}

describe('the built package', () => {
  it('is importable from plain Node by its name, without a bundler', () => {
    const output = runModule(
      "const d = await import('@sms/domain'); console.log(typeof d.UpdateConsistencyResultRequestSchema, d.Limits.resultsPerUploadMax)",
    );
    expect(output).toBe('object 30');
  });

  it('serves the limits alone at @sms/domain/limits, without loading valibot (the agent starts faster)', () => {
    const output = runModule(
      "const { Limits } = await import('@sms/domain/limits'); console.log(Limits.fileCountMax)",
    );
    expect(output).toBe('1000000');
    // nothing else is loaded with it
    expect(readFileSync(`${packageDir}/dist/limits/limits.js`, 'utf8')).not.toMatch(/^import /m);
  });

  it('serves the exclude patterns alone at @sms/domain/exclude, without loading valibot (the agent reads them to start)', () => {
    const output = runModule(
      "const { parsePattern } = await import('@sms/domain/exclude'); console.log(JSON.stringify(parsePattern('/var/log/')))",
    );
    expect(JSON.parse(output)).toEqual({
      pattern: '/var/log/',
      body: 'var/log',
      anchored: true,
      dirOnly: true,
    });
    expect(readFileSync(`${packageDir}/dist/exclude/patterns.js`, 'utf8')).not.toMatch(/^import /m);
  });

  it('serves the SDK signature at @sms/domain/signature, outside the main entry (it needs node:crypto)', () => {
    const output = runModule(
      "const s = await import('@sms/domain/signature'); console.log(s.formatSdkDate(Date.UTC(2026, 11, 4, 18, 55, 12)))",
    );
    expect(output).toBe('20261204T185512Z');
    expect(readFileSync(`${packageDir}/dist/index.js`, 'utf8')).not.toContain('signature');
  });

  it('ships type declarations beside the JavaScript', () => {
    expect(existsSync(`${packageDir}/dist/index.js`)).toBe(true);
    expect(existsSync(`${packageDir}/dist/index.d.ts`)).toBe(true);
  });
});
