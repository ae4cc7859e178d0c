import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ADMIN_PASSWORD, createTestApp, type TestApp } from '@sms/server/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const README = fileURLToPath(new URL('../README.md', import.meta.url));
const MARKER = '<!-- example: run as written by src/readme.test.ts -->';

/** The README's first example: the ts block right after its marker. */
function readmeExample(): string {
  const text = readFileSync(README, 'utf8');
  const at = text.indexOf(MARKER);
  if (at < 0) throw new Error(`README.md has lost its marker ${MARKER}`);
  const block = /```ts\n([\s\S]*?)```/.exec(text.slice(at));
  if (!block) throw new Error('README.md has no ts block after its example marker');
  return block[1]!;
}

let app: TestApp;
let server: Server;
beforeAll(async () => {
  app = await createTestApp({
    clock: 'running',
    users: [{ name: 'agent-01', password: 'agent-password-1', role: 'agent' }],
  });
  // the real app on a real port, for the example's global fetch
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
    const response = await app.app.fetch(
      new Request(`http://${req.headers.host}${req.url}`, {
        method: req.method ?? 'GET',
        headers: req.headers as Record<string, string>,
        ...(body ? { body } : {}),
      }),
    );
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await app.close();
});

describe('the README', () => {
  it('runs its first example as written against a real server: the agent uploads, the admin reads CONSISTENT', async () => {
    const code = readmeExample();
    expect(code).toContain("from '@sms/client'");
    // the example imports the package; here it gets this package's source (its dist may be older)
    const file = fileURLToPath(new URL(`./.readme-example-${process.pid}.ts`, import.meta.url));
    writeFileSync(file, code.replace("from '@sms/client'", "from './index.js'"));
    vi.stubEnv('SMS_ENDPOINT', `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    vi.stubEnv('SMS_ADMIN_PASSWORD', ADMIN_PASSWORD);
    vi.stubEnv('SMS_AGENT_PASSWORD', 'agent-password-1');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await import(file);
      expect(log).toHaveBeenCalledWith('CONSISTENT');
    } finally {
      log.mockRestore();
      vi.unstubAllEnvs();
      rmSync(file, { force: true });
    }
  });
});
