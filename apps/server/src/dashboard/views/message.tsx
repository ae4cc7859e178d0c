import type { FC } from 'hono/jsx';
import type { Session } from '../../services/auth-service.js';
import { Layout, Notice } from './layout.js';

/** A page that only explains: not found, not allowed, a bad filter, a server fault. */
export const MessagePage: FC<{ title: string; message: string; session?: Session | undefined }> = ({
  title,
  message,
  session,
}) => (
  <Layout title={title} session={session}>
    <h1>{title}</h1>
    <Notice kind="error">{message}</Notice>
    <p>
      <a href="/ui/tasks">Back to the task list</a>
    </p>
  </Layout>
);
