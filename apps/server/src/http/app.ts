import { ErrorCodes } from '@sms/domain';
import { Hono } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import {
  dashboardErrorPage,
  dashboardNoRoute,
  isDashboardPath,
  registerDashboard,
} from '../dashboard/routes.js';
import type { AppDeps, AppEnv } from './context.js';
import { errorResponse } from './error-response.js';
import { measureRequests } from './middleware/metrics.js';
import { requestContext } from './middleware/request-context.js';
import { registerAuthDecode } from './routes/auth-decode.js';
import { registerAuthTokens } from './routes/auth-tokens.js';
import { registerConfiguration } from './routes/configuration.js';
import { registerConsistencyResultShow } from './routes/consistency-result-show.js';
import { registerConsistencyResultUpdate } from './routes/consistency-result-update.js';
import { registerCredentialsCreate } from './routes/credentials-create.js';
import { registerCredentialsDelete } from './routes/credentials-delete.js';
import { registerCredentialsList } from './routes/credentials-list.js';
import { registerCredentialsUpdate } from './routes/credentials-update.js';
import { registerFindingsList } from './routes/findings-list.js';
import { registerFindingsUpload } from './routes/findings-upload.js';
import { registerHealth } from './routes/health.js';
import { registerMetrics } from './routes/metrics.js';
import { registerOpenApi } from './routes/openapi.js';
import { registerTasksCreate } from './routes/tasks-create.js';
import { registerTasksDelete } from './routes/tasks-delete.js';
import { registerTasksList } from './routes/tasks-list.js';
import { registerTasksShow } from './routes/tasks-show.js';
import { registerVerification } from './routes/verification.js';

/** Turns a Hono route path (`/v3/tasks/:task_id{[^/]*}`) into a matcher, for telling 405 from 404. */
function routeMatcher(path: string): RegExp {
  const tokens = path.match(/:[A-Za-z_]+\{[^}]*\}|:[A-Za-z_]+|\*|[^:*]+/g) ?? [];
  const pattern = tokens
    .map((token) => {
      const param = /^:[A-Za-z_]+(?:\{(.*)\})?$/.exec(token);
      if (param) return param[1] === undefined ? '[^/]+' : `(?:${param[1]})`;
      if (token === '*') return '.*';
      return token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${pattern}$`);
}

/**
 * The server as a Hono app: request ids and logs, security headers (no CORS),
 * the routes, and one error handler that turns every error into a documented body.
 */
export function createApp(deps: AppDeps, options: { version?: string } = {}): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  if (deps.metrics) app.use('*', measureRequests(deps.metrics));
  app.use('*', requestContext(deps));
  app.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        styleSrc: ["'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
      xFrameOptions: 'DENY',
    }),
  );
  registerHealth(app);
  if (deps.metrics) registerMetrics(app, deps.metrics);
  registerOpenApi(app, options.version ?? '0.0.0');
  registerAuthTokens(app);
  registerAuthDecode(app);
  registerCredentialsCreate(app);
  registerCredentialsList(app);
  registerCredentialsUpdate(app);
  registerCredentialsDelete(app);
  registerTasksCreate(app);
  registerTasksList(app);
  registerTasksShow(app);
  registerTasksDelete(app);
  registerConsistencyResultUpdate(app);
  registerConsistencyResultShow(app);
  registerFindingsUpload(app);
  registerFindingsList(app);
  registerConfiguration(app);
  registerVerification(app);
  registerDashboard(app);

  // the dashboard's page for any other GET under /ui (404) is no route a method could be allowed on
  const routes = app.routes
    .filter((r) => r.method !== 'ALL' && r.path !== '/ui/*')
    .map((r) => ({ method: r.method, matches: routeMatcher(r.path) }));
  app.notFound((c) => {
    const allowed = [...new Set(routes.filter((r) => r.matches.test(c.req.path)).map((r) => r.method))];
    if (isDashboardPath(c.req.path)) return dashboardNoRoute(c, allowed);
    if (allowed.length > 0) {
      c.header('Allow', allowed.join(', '));
      return c.json(
        {
          error_code: ErrorCodes.MethodNotAllowed.code,
          error_msg: `${c.req.method} is not allowed on ${c.req.path.slice(0, 200)}; use ${allowed.join(' or ')}.`,
        },
        405,
      );
    }
    return c.json(
      {
        error_code: ErrorCodes.ResourceNotFound.code,
        error_msg: `No route for ${c.req.method} ${c.req.path.slice(0, 200)}; see /docs for the API.`,
      },
      404,
    );
  });
  app.onError((error, c) =>
    isDashboardPath(c.req.path) ? dashboardErrorPage(c, error) : errorResponse(c, error),
  );
  return app;
}
