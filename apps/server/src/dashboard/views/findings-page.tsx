import { FINDING_CATEGORIES, type FindingCategory, type FindingsPage, type Task } from '@sms/domain';
import type { FC } from 'hono/jsx';
import type { Session } from '../../services/auth-service.js';
import { formatAgo, formatCount, formatTime, shellWord, visible } from '../format.js';
import { Layout, Notice } from './layout.js';
import { shortRun } from './parts.js';

/** Findings a dashboard page shows. */
export const FINDINGS_PER_PAGE = 100;

/** What a finding says, in a heading's words. */
const CATEGORY_LABEL: Record<FindingCategory, string> = {
  different: 'Different',
  missing: 'Missing at the target',
  extra: 'Extra at the target',
  error: 'Could not be read',
  transient: 'Differed, then matched on recheck',
};

export interface FindingsPageView {
  task: Task;
  dirCheck: string;
  categories: readonly FindingCategory[] | undefined;
  /** Whether this page was reached by marker (not the first). */
  paged: boolean;
  page: FindingsPage;
}

/** The link to a directory's findings with the given filter (and marker). */
export function findingsHref(
  taskId: string,
  dirCheck: string,
  options: {
    category?: readonly string[] | undefined;
    marker?: string | undefined;
    file?: 'csv' | 'resync' | 'resync0';
  } = {},
): string {
  const params = new URLSearchParams({ dir_check: dirCheck });
  if (options.category && options.category.length > 0) params.set('category', options.category.join(','));
  if (options.marker) params.set('marker', options.marker);
  const base = `/ui/tasks/${encodeURIComponent(taskId)}`;
  if (options.file === 'csv') return `${base}/findings.csv?${params}`;
  if (options.file === 'resync') return `${base}/resync.txt?${params}`;
  if (options.file === 'resync0') return `${base}/resync.from0?${params}`;
  return `${base}/findings?${params}`;
}

/** One directory's current findings: which files differ and why, 100 a page, with downloads. */
export const FindingsPageView: FC<{ view: FindingsPageView; session: Session; now: number }> = ({
  view,
  session,
  now,
}) => {
  const { task, dirCheck, categories, page } = view;
  const directory = page.directories.find((d) => d.dir_check === dirCheck);
  const title = `Findings in ${visible(dirCheck) || '(empty path)'}`;
  return (
    <Layout title={`${title} · ${task.name}`} session={session}>
      <nav aria-label="Breadcrumb" class="muted">
        <a href="/ui/tasks">Tasks</a> › <a href={`/ui/tasks/${encodeURIComponent(task.id)}`}>{task.name}</a> ›{' '}
        findings
      </nav>
      <h1>
        Findings in <code>{visible(dirCheck) || '(empty path)'}</code>
      </h1>
      {directory ? (
        <>
          <p data-run={directory.run_id}>
            From run <code title={directory.run_id}>{shortRun(directory.run_id)}</code>, whose result of this
            directory was stored{' '}
            <time datetime={new Date(directory.finished_time).toISOString()}>
              {formatTime(directory.finished_time)} ({formatAgo(directory.finished_time, now)})
            </time>
            .
          </p>
          {directory.truncated ? (
            <Notice kind="info">
              The list is cut: the agent found more than 1,000,000 findings in this directory in this run and
              sent the first 1,000,000. Verify its subdirectories with --dir to see the rest.
            </Notice>
          ) : null}
          <nav class="filters" aria-label="Filter by category">
            <a href={findingsHref(task.id, dirCheck)} aria-current={categories ? undefined : 'page'}>
              All
            </a>
            {FINDING_CATEGORIES.map((c) => (
              <a
                href={findingsHref(task.id, dirCheck, { category: [c] })}
                aria-current={categories?.length === 1 && categories[0] === c ? 'page' : undefined}
              >
                {CATEGORY_LABEL[c]}
              </a>
            ))}
          </nav>
          <p class="downloads">
            <a
              class="button"
              href={findingsHref(task.id, dirCheck, { category: categories, file: 'csv' })}
              download
            >
              Download CSV
            </a>{' '}
            <a class="button" href={findingsHref(task.id, dirCheck, { file: 'resync' })} download>
              Download the re-sync list
            </a>{' '}
            <a href={findingsHref(task.id, dirCheck, { file: 'resync0' })} download>
              (NUL-separated)
            </a>
          </p>
          <p class="muted">
            The re-sync list holds the different and missing paths, relative to this directory: copy them
            again with{' '}
            <code>
              rsync -a -I --files-from=LIST{' '}
              {shellWord(`${dirCheck === '' ? '.' : dirCheck.startsWith('-') ? `./${dirCheck}` : dirCheck}/`)}{' '}
              TARGET/
            </code>{' '}
            (<code>-I</code>: whatever their size and time, which a content check may find equal; with the
            NUL-separated list, add <code>--from0</code>; it also holds names with a newline).
          </p>
          {page.findings.length === 0 ? (
            <p>{categories ? 'No findings of this category.' : 'No findings.'}</p>
          ) : (
            <section class="table-wrap" aria-label="Findings" tabindex={0}>
              <table class="findings">
                <thead>
                  <tr>
                    <th scope="col">Path</th>
                    <th scope="col">Category</th>
                    <th scope="col">Reason</th>
                  </tr>
                </thead>
                <tbody>
                  {page.findings.map((f) => (
                    <tr data-category={f.category} data-path={f.path}>
                      <td>
                        <code>{visible(f.path)}</code>
                        {f.path_base64 ? (
                          <span class="muted"> (not UTF-8: the bytes that are not are shown as \xNN)</span>
                        ) : null}
                      </td>
                      <td>{CATEGORY_LABEL[f.category]}</td>
                      <td>{visible(f.reason)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
          )}
          <nav class="pager" aria-label="Pages of findings">
            {view.paged ? (
              <a href={findingsHref(task.id, dirCheck, { category: categories })}>« First</a>
            ) : null}
            <span>{`${formatCount(page.findings.length)} shown, ${FINDINGS_PER_PAGE} to a page`}</span>
            {page.next_marker ? (
              <a
                href={findingsHref(task.id, dirCheck, { category: categories, marker: page.next_marker })}
                rel="next"
              >
                Next ›
              </a>
            ) : null}
          </nav>
        </>
      ) : (
        <p>
          No findings of this directory's newest result were uploaded: the agent sends them with{' '}
          <code>sms-agent verify --upload</code> (unless <code>--no-findings</code>), after the counts.
        </p>
      )}
    </Layout>
  );
};
