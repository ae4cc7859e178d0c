import { NotFoundError } from '@sms/domain';
import { AccessKeyService, accessKeySealingKey } from '../services/access-key-service.js';
import type { Storage } from '../storage/storage.js';

/** `sms-server access-key create|list|delete`: the operator's side of `/v3.0/OS-CREDENTIAL/credentials`. */
export async function accessKeyCommand(
  storage: Storage,
  sub: string | undefined,
  argument: string | undefined,
  options: { description?: string | undefined; json?: boolean | undefined },
  say: (line: string) => void,
  usage: (message: string) => Error,
): Promise<void> {
  const keys = new AccessKeyService(storage, await accessKeySealingKey(storage.signIn));
  // a user named on a database with no users yet: say where the first one comes from
  const forUser = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      if (error instanceof NotFoundError && (await storage.accounts.countUsers()) === 0)
        throw new Error(
          `user ${JSON.stringify(argument)} was not found: this database has no users yet. The first user, admin, is made when the server first starts on it (sms-server serve, with SMS_ADMIN_PASSWORD or a password it prints once); or add one with sms-server user add NAME --project PROJECT --role admin|agent|viewer`,
        );
      throw error;
    }
  };
  switch (sub) {
    case 'create': {
      if (argument === undefined) throw usage('missing USER');
      // --description's length was checked with the command's shape (cli/commands.ts)
      const created = await forUser(() => keys.createFor(argument, options.description ?? ''));
      if (options.json) return say(JSON.stringify(created));
      const { access, secret } = created.credential;
      say(`created access key ${access} for user ${argument}`);
      return say(`secret key (shown once): ${secret}`);
    }
    case 'list':
      for (const key of await forUser(() => keys.listFor(argument))) {
        say([key.access, key.user_name, key.status, key.create_time, key.description].join('\t'));
      }
      return;
    case 'delete': {
      // its form was checked with the command's shape (cli/commands.ts)
      if (argument === undefined) throw usage('missing ACCESS_KEY');
      await keys.deleteKey(argument);
      return say(`deleted access key ${argument}; requests signed with it are refused from now on`);
    }
    default:
      throw usage(`unknown command ${JSON.stringify(`access-key ${sub ?? ''}`.trim())}`);
  }
}
