import { passwordTokenRequest } from '@sms/domain';

/** Plain fetch calls against a server on a real port, for the process tests. */
export function apiOf(url: string) {
  const call = (path: string, init: RequestInit = {}) => fetch(`${url}${path}`, init);
  return {
    call,
    async token(user: string, password: string, project = 'default'): Promise<string> {
      const res = await call('/v3/auth/tokens', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(passwordTokenRequest({ user, password, project })),
      });
      if (res.status !== 201) throw new Error(`token: ${res.status} ${await res.text()}`);
      return res.headers.get('x-subject-token')!;
    },
    async createTask(token: string, name: string): Promise<string> {
      const res = await call('/v3/tasks', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-auth-token': token },
        body: JSON.stringify({ name }),
      });
      if (res.status !== 200) throw new Error(`create task: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { id: string }).id;
    },
    upload(token: string, taskId: string, body: unknown) {
      return call(`/v3/tasks/${taskId}/consistency-result`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-auth-token': token },
        body: JSON.stringify(body),
      });
    },
    async history(token: string, taskId: string) {
      const res = await call(`/v3/tasks/${taskId}/consistency-result`, {
        headers: { 'x-auth-token': token },
      });
      return (await res.json()) as { result_list: { consistency_result: { dir_check: string }[] }[] };
    },
  };
}
