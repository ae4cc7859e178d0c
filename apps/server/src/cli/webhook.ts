import { SmsError } from '@sms/domain';
import { AuthService } from '../services/auth-service.js';
import type { WebhookAddressPolicy } from '../services/webhook-post.js';
import { WebhookService, webhookSealingKey } from '../services/webhook-service.js';
import type { Storage } from '../storage/storage.js';

/** `sms-server webhook add|list|delete`: a project's webhooks, from the operator's shell. */
export async function webhookCommand(
  storage: Storage,
  sub: string | undefined,
  first: string | undefined,
  second: string | undefined,
  say: (line: string) => void,
  usage: (message: string) => Error,
  options: { addresses: WebhookAddressPolicy },
): Promise<void> {
  const auth = await AuthService.create(storage, { tokenTtlSeconds: 3600 });
  const hooks = new WebhookService(storage.webhooks, auth, await webhookSealingKey(storage.signIn), options);
  switch (sub) {
    case 'add': {
      if (first === undefined || second === undefined) throw usage('webhook add needs PROJECT and URL');
      const project = await storage.accounts.findProject({ name: first });
      if (!project) throw new Error(`no project ${first}: sms-server project list shows them`);
      let made: Awaited<ReturnType<WebhookService['add']>>;
      try {
        made = await hooks.add(project.id, second);
      } catch (error) {
        if (error instanceof SmsError) throw usage(error.message);
        throw error;
      }
      say(`added webhook ${made.id} of project ${first}: ${made.url}`);
      return say(`secret (shown once; the receiver checks X-Sms-Signature with it): ${made.secret}`);
    }
    case 'list': {
      let projectId: string | undefined;
      if (first !== undefined) {
        const project = await storage.accounts.findProject({ name: first });
        if (!project) throw new Error(`no project ${first}: sms-server project list shows them`);
        projectId = project.id;
      }
      for (const hook of await storage.webhooks.list(projectId))
        say([hook.id, hook.project_name, hook.url, new Date(hook.created_at).toISOString()].join('\t'));
      return;
    }
    case 'delete': {
      if (first === undefined)
        throw usage('webhook delete needs the webhook ID (sms-server webhook list shows them)');
      if (!(await storage.webhooks.delete(first)))
        throw new Error(`no webhook ${first}: sms-server webhook list shows them`);
      return say(`deleted webhook ${first}; its undelivered events are dropped`);
    }
    default:
      throw usage('webhook: expected add PROJECT URL, list [PROJECT] or delete ID');
  }
}
