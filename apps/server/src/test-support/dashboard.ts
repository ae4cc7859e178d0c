import type { TestApp } from '../testing/app.js';

/** One Set-Cookie header, read into its parts. */
export interface SetCookie {
  name: string;
  value: string;
  attributes: Record<string, string | true>;
}

export function parseSetCookies(response: Response): SetCookie[] {
  return response.headers.getSetCookie().map((line) => {
    const [pair = '', ...rest] = line.split(';');
    const eq = pair.indexOf('=');
    const attributes: Record<string, string | true> = {};
    for (const part of rest) {
      const [key = '', ...value] = part.trim().split('=');
      attributes[key.toLowerCase()] = value.length > 0 ? value.join('=') : true;
    }
    return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attributes };
  });
}

/**
 * A browser's part the dashboard needs, over `app.request`: a cookie jar
 * (cookies set, replaced and removed as a browser would), form posts, and the
 * hidden form token read off the last page.
 */
export function dashboardBrowser(app: TestApp, headers: Record<string, string> = {}, peer?: string) {
  const jar = new Map<string, string>();
  let lastHtml = '';

  async function send(path: string, init: RequestInit = {}): Promise<Response> {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const response = await app.request(
      path,
      {
        ...init,
        redirect: 'manual',
        headers: { ...headers, ...(cookie ? { cookie } : {}), ...(init.headers as Record<string, string>) },
      },
      peer,
    );
    for (const set of parseSetCookies(response)) {
      const maxAge = set.attributes['max-age'];
      if (set.value === '' || maxAge === '0') jar.delete(set.name);
      else jar.set(set.name, set.value);
    }
    if ((response.headers.get('content-type') ?? '').startsWith('text/html')) {
      lastHtml = await response.clone().text();
    }
    return response;
  }

  return {
    jar,
    get: (path: string) => send(path),
    /** Posts a form as a browser does (urlencoded). */
    post: (path: string, fields: Record<string, string>) =>
      send(path, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
      }),
    /** The value of the (first) hidden field `name` of the last page shown. */
    hidden(name: string): string {
      const match = new RegExp(`name="${name}" value="([^"]+)"`).exec(lastHtml);
      if (!match?.[1]) throw new Error(`the last page has no hidden field ${name}`);
      return match[1];
    },
    /** The hidden `csrf` field of the last page shown. */
    formToken(): string {
      return this.hidden('csrf');
    },
    /** Opens the sign-in page and signs in; resolves to the answer of the form's post. */
    async signIn(user: string, password: string, project?: string) {
      await send('/ui/sign-in');
      return this.post('/ui/sign-in', {
        csrf: this.formToken(),
        user,
        password,
        ...(project === undefined ? {} : { project }),
      });
    },
  };
}

/** The text of a page without tags, spaces squeezed: what a reader sees. */
export const textOf = (html: string) =>
  html
    .replace(/<style[\s\S]*?<\/style>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');

/** A browser signed in as `user` (303 from the sign-in form, else the test fails). */
export async function signedInBrowser(app: TestApp, user: string, password: string) {
  const browser = dashboardBrowser(app);
  const res = await browser.signIn(user, password);
  if (res.status !== 303) throw new Error(`sign-in of ${user} answered ${res.status}: ${await res.text()}`);
  return browser;
}
