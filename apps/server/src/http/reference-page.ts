import type { OpenApiDocument } from './openapi.js';

const htmlText = (text: string) =>
  text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`).replace(/`([^`]+)`/g, '<code>$1</code>');

/** A readable, self-contained API reference page rendered from the OpenAPI document (no script). */
export function renderReferencePage(doc: OpenApiDocument): string {
  const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods as Record<string, Record<string, unknown>>).map(([method, op]) => ({
      path,
      method,
      op,
    })),
  );
  const section = ({ path, method, op }: (typeof operations)[number]) => {
    const responses = Object.entries((op.responses ?? {}) as Record<string, { description?: string }>)
      .map(([status, r]) => `<li><strong>${status}</strong> ${htmlText(r.description ?? '')}</li>`)
      .join('');
    const params = (
      (op.parameters ?? []) as { name: string; in: string; required?: boolean; description?: string }[]
    )
      .map(
        (p) =>
          `<li><code>${htmlText(p.name)}</code> (${p.in}${p.required ? ', required' : ''}) ${htmlText(p.description ?? '')}</li>`,
      )
      .join('');
    const body = (op.requestBody as { content?: Record<string, { schema?: { $ref?: string } }> } | undefined)
      ?.content?.['application/json']?.schema?.$ref;
    return `<section id="${method}-${htmlText(path)}">
<h2><span class="method ${method}">${method.toUpperCase()}</span> <code>${htmlText(path)}</code></h2>
<p>${htmlText(String(op.summary ?? ''))}</p>${op.description ? `<p>${htmlText(String(op.description))}</p>` : ''}
${params ? `<h3>Parameters</h3><ul>${params}</ul>` : ''}
${body ? `<h3>Body</h3><p><a href="#schema-${body.split('/').pop()}">${body.split('/').pop()}</a></p>` : ''}
<h3>Responses</h3><ul>${responses}</ul></section>`;
  };
  const schemas = Object.entries(doc.components.schemas)
    .map(
      ([name, schema]) =>
        `<section id="schema-${name}"><h3>${name}</h3><pre>${htmlText(JSON.stringify(schema, null, 2))}</pre></section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${htmlText(doc.info.title)} ${htmlText(doc.info.version)}</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;color:#1a1a1a;background:#fff}
code,pre{font-family:ui-monospace,monospace;font-size:.9em}pre{background:#f4f4f4;padding:.75rem;overflow:auto}
section{border-top:1px solid #ddd;padding-top:.5rem}.method{display:inline-block;min-width:4.5rem;padding:0 .4rem;border-radius:4px;color:#fff;font-size:.85em;text-align:center}
.get{background:#1f5fa8}.post{background:#1d7a3a}.delete{background:#a12a2a}a{color:#1f5fa8}
</style></head><body>
<h1>${htmlText(doc.info.title)} <small>${htmlText(doc.info.version)}</small></h1>
<p>${htmlText(doc.info.description)}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a></p>
<nav><ul>${operations.map((o) => `<li><a href="#${o.method}-${htmlText(o.path)}">${o.method.toUpperCase()} ${htmlText(o.path)}</a></li>`).join('')}</ul></nav>
${operations.map(section).join('\n')}
<h2>Schemas</h2>
${schemas}
</body></html>`;
}
