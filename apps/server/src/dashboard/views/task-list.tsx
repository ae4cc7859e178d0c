import {
  type SortOrder,
  TASK_SUMMARY_PAGE_DEFAULT,
  type TaskSort,
  type TaskSummaryQuery,
  VERDICTS_WORST_FIRST,
} from '@sms/domain';
import type { FC } from 'hono/jsx';
import type { Session } from '../../services/auth-service.js';
import type { TaskListView, TaskSummaryRow } from '../../services/dashboard-service.js';
import { formatAgo, formatCount, formatTime, VERDICT_LABEL } from '../format.js';
import { Layout, Notice } from './layout.js';
import { Pager, VerdictBadge } from './parts.js';

/** The direction a column sorts in when first chosen: names A to Z, worst verdict first, biggest numbers and newest first. */
const FIRST_ORDER: Record<TaskSort, SortOrder> = {
  verdict: 'asc',
  name: 'asc',
  state: 'asc',
  total: 'desc',
  different: 'desc',
  missing: 'desc',
  extra: 'desc',
  last: 'desc',
};

/** The link to the list with `patch` applied; fields at their defaults are left out. */
export function listHref(query: TaskSummaryQuery, patch: Partial<TaskSummaryQuery> = {}): string {
  const q = { ...query, ...patch };
  const params = new URLSearchParams();
  if (q.q !== undefined) params.set('q', q.q);
  if (q.verdict !== undefined) params.set('verdict', q.verdict);
  if (q.sort !== 'verdict' || q.order !== 'asc') {
    params.set('sort', q.sort);
    params.set('order', q.order);
  }
  if (q.per_page !== TASK_SUMMARY_PAGE_DEFAULT) params.set('per_page', String(q.per_page));
  if (q.page !== 1) params.set('page', String(q.page));
  const text = params.toString();
  return text ? `/ui/tasks?${text}` : '/ui/tasks';
}

const COLUMNS: { sort: TaskSort; label: string; numeric?: boolean }[] = [
  { sort: 'name', label: 'Task' },
  { sort: 'state', label: 'State' },
  { sort: 'verdict', label: 'Verdict' },
  { sort: 'total', label: 'Verified', numeric: true },
  { sort: 'different', label: 'Different', numeric: true },
  { sort: 'missing', label: 'Missing', numeric: true },
  { sort: 'extra', label: 'Extra', numeric: true },
  { sort: 'last', label: 'Last result' },
];

const SortHeader: FC<{ column: (typeof COLUMNS)[number]; query: TaskSummaryQuery }> = ({ column, query }) => {
  const current = query.sort === column.sort;
  const order: SortOrder = current ? (query.order === 'asc' ? 'desc' : 'asc') : FIRST_ORDER[column.sort];
  const ariaSort = current ? (query.order === 'asc' ? 'ascending' : 'descending') : undefined;
  return (
    <th scope="col" class={column.numeric ? 'num' : undefined} aria-sort={ariaSort}>
      <a href={listHref(query, { sort: column.sort, order, page: 1 })}>
        {column.label}
        {current ? <span aria-hidden="true">{query.order === 'asc' ? ' ▲' : ' ▼'}</span> : null}
        <span class="sr-only">{`, sort ${order === 'asc' ? 'ascending' : 'descending'}`}</span>
      </a>
    </th>
  );
};

const Count: FC<{ value: number | null; label: string }> = ({ value, label }) => (
  <td class="num" data-label={label}>
    {value === null ? <span class="muted">—</span> : formatCount(value)}
  </td>
);

const TaskRow: FC<{ task: TaskSummaryRow; now: number }> = ({ task, now }) => (
  <tr data-task-id={task.id}>
    <td class="name" data-label="Task">
      <a href={`/ui/tasks/${encodeURIComponent(task.id)}`}>{task.name}</a>
    </td>
    <td data-label="State">{task.state}</td>
    <td data-label="Verdict">
      <VerdictBadge verdict={task.verdict} />
    </td>
    <Count value={task.num_total_files} label="Verified" />
    <Count value={task.num_different_files} label="Different" />
    <Count value={task.num_target_miss_files} label="Missing" />
    <Count value={task.num_target_more_files} label="Extra" />
    <td data-label="Last result">
      {task.finished_time === null ? (
        <span class="muted">never</span>
      ) : (
        <time datetime={new Date(task.finished_time).toISOString()} title={formatTime(task.finished_time)}>
          {formatAgo(task.finished_time, now)}
        </time>
      )}
    </td>
  </tr>
);

/** The signed-in project's tasks: verdict counts, filters, a sortable table and pages. */
export const TaskListPage: FC<{
  view: TaskListView;
  session: Session;
  now: number;
  info?: string | undefined;
}> = ({ view, session, now, info }) => {
  const { query } = view;
  const all = VERDICTS_WORST_FIRST.reduce((sum, v) => sum + view.verdictCounts[v], 0);
  const filtered = query.q !== undefined || query.verdict !== undefined;
  return (
    <Layout title="Tasks" session={session}>
      <h1>Tasks in project {session.principal.projectName}</h1>
      {info ? <Notice kind="info">{info}</Notice> : null}
      <ul class="counts-line" aria-label="Tasks by verdict">
        <li>
          <a
            class={`badge never${query.verdict === undefined ? ' current' : ''}`}
            href={listHref(query, { verdict: undefined, page: 1 })}
          >
            All {formatCount(all)}
          </a>
        </li>
        {VERDICTS_WORST_FIRST.map((verdict) => (
          <li>
            <a
              class={`badge ${verdict}${query.verdict === verdict ? ' current' : ''}`}
              href={listHref(query, { verdict, page: 1 })}
              aria-current={query.verdict === verdict ? 'true' : undefined}
              data-verdict-count={verdict}
            >
              {VERDICT_LABEL[verdict]} {formatCount(view.verdictCounts[verdict])}
            </a>
          </li>
        ))}
      </ul>
      <search aria-label="Filter tasks">
        <form method="get" action="/ui/tasks" class="filters">
          <div class="field">
            <label for="q">Name contains</label>
            <input id="q" name="q" type="search" maxlength={255} value={query.q ?? ''} />
          </div>
          <div class="field">
            <label for="verdict">Verdict</label>
            <select id="verdict" name="verdict">
              <option value="">Any</option>
              {VERDICTS_WORST_FIRST.map((verdict) => (
                <option value={verdict} selected={query.verdict === verdict}>
                  {VERDICT_LABEL[verdict]}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="per_page">Per page</label>
            <select id="per_page" name="per_page">
              {[20, 50, 100].map((n) => (
                <option value={String(n)} selected={query.per_page === n}>
                  {n}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="sort">Sort by</label>
            <select id="sort" name="sort">
              {COLUMNS.map((column) => (
                <option value={column.sort} selected={query.sort === column.sort}>
                  {column.sort === 'name' ? 'Name' : column.label}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="order">Order</label>
            <select id="order" name="order">
              <option value="asc" selected={query.order === 'asc'}>
                {query.sort === 'verdict' ? 'Ascending (worst first)' : 'Ascending'}
              </option>
              <option value="desc" selected={query.order === 'desc'}>
                Descending
              </option>
            </select>
          </div>
          <button type="submit">Apply</button>
          {filtered ? <a href="/ui/tasks">Clear filters</a> : null}
        </form>
      </search>
      {view.tasks.length === 0 ? (
        filtered ? (
          <p>
            No task matches these filters. <a href="/ui/tasks">Show all tasks</a>.
          </p>
        ) : (
          <p>
            No tasks in this project yet. Create one with <code>POST /v3/tasks</code> (see the{' '}
            <a href="/docs">API reference</a>) and let <code>sms-agent verify --upload</code> send its
            results.
          </p>
        )
      ) : (
        <>
          <section class="table-wrap" aria-label="Tasks" tabindex={0}>
            <table class="tasks">
              <caption class="sr-only">
                {`Tasks ${formatCount((view.page - 1) * query.per_page + 1)} to ${formatCount((view.page - 1) * query.per_page + view.tasks.length)} of ${formatCount(view.count)}, sorted by ${query.sort} ${query.order === 'asc' ? 'ascending' : 'descending'}`}
              </caption>
              <thead>
                <tr>
                  {COLUMNS.map((column) => (
                    <SortHeader column={column} query={query} />
                  ))}
                </tr>
              </thead>
              <tbody>
                {view.tasks.map((task) => (
                  <TaskRow task={task} now={now} />
                ))}
              </tbody>
            </table>
          </section>
          <Pager
            label="Pages"
            page={view.page}
            pages={view.pages}
            total={`${formatCount(view.count)} ${view.count === 1 ? 'task' : 'tasks'}`}
            href={(page) => listHref(query, { page })}
          />
        </>
      )}
    </Layout>
  );
};
