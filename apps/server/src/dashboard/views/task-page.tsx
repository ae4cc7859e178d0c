import { isConsistent, verdictOf } from '@sms/domain';
import type { FC } from 'hono/jsx';
import type { Session } from '../../services/auth-service.js';
import type { TaskPageView } from '../../services/dashboard-service.js';
import { formatAgo, formatCount, formatTime, visible } from '../format.js';
import { findingsHref } from './findings-page.js';
import { Layout } from './layout.js';
import {
  DirectoryCounts,
  HistoryChart,
  Legend,
  Pager,
  ProportionBar,
  shortRun,
  VerdictBadge,
} from './parts.js';
import { VerificationSection, type VerificationView } from './verification-section.js';

const When: FC<{ ms: number; now: number }> = ({ ms, now }) => (
  <time datetime={new Date(ms).toISOString()}>
    {formatTime(ms)} ({formatAgo(ms, now)})
  </time>
);

/** The history table's number columns: heading and field of the run. */
const NUMBER_COLUMNS = [
  ['Directories', 'dir_count'],
  ['Verified', 'num_total_files'],
  ['Different', 'num_different_files'],
  ['Missing', 'num_target_miss_files'],
  ['Extra', 'num_target_more_files'],
] as const;

/** One task: its facts, the latest result of each directory as a bar, and the history of its runs. */
export const TaskPage: FC<{
  view: TaskPageView;
  session: Session;
  now: number;
  verification?: VerificationView | undefined;
}> = ({ view, session, now, verification }) => {
  const { task, summary, history, directories, directoryPage, uploadCount, runCount } = view;
  const first = (directoryPage.page - 1) * directoryPage.perPage;
  const dirsHref = (page: number) =>
    `/ui/tasks/${encodeURIComponent(task.id)}${page === 1 ? '' : `?dirs_page=${page}`}#directories`;
  const latest = history[0];
  const dirs = summary.dir_count ?? 0;
  return (
    <Layout title={task.name} session={session}>
      <nav aria-label="Breadcrumb" class="muted">
        <a href="/ui/tasks">Tasks</a> › {task.name}
      </nav>
      <h1>{task.name}</h1>
      <dl class="facts">
        <dt>Verdict</dt>
        <dd>
          <VerdictBadge verdict={summary.verdict} />
          {summary.inconsistent_dirs
            ? ` ${formatCount(summary.inconsistent_dirs)} of ${formatCount(dirs)} directories differ`
            : ''}
        </dd>
        <dt>Last result</dt>
        <dd>{latest ? <When ms={latest.finished_time} now={now} /> : 'never'}</dd>
        {dirs > 0 ? (
          <>
            <dt>Totals</dt>
            <dd data-totals>
              {`${formatCount(summary.num_total_files ?? 0)} verified, ${formatCount(summary.num_different_files ?? 0)} different, ${formatCount(summary.num_target_miss_files ?? 0)} missing, ${formatCount(summary.num_target_more_files ?? 0)} extra in ${formatCount(dirs)} ${dirs === 1 ? 'directory' : 'directories'} (the newest result of each)`}
            </dd>
          </>
        ) : null}
        <dt>Runs</dt>
        <dd>{`${formatCount(runCount)} (${formatCount(uploadCount)} ${uploadCount === 1 ? 'upload' : 'uploads'})`}</dd>
        <dt>State</dt>
        <dd>{task.state}</dd>
        <dt>Type</dt>
        <dd>{task.type}</dd>
        <dt>Task ID</dt>
        <dd>
          <code>{task.id}</code>
        </dd>
        <dt>Created</dt>
        <dd>
          <When ms={task.create_date} now={now} />
        </dd>
      </dl>

      <section aria-labelledby="directories">
        <h2 id="directories">Directories</h2>
        {directories.length === 0 ? (
          <p>
            No directory has been verified yet. Run <code>sms-agent verify --upload</code> with this task's
            ID.
          </p>
        ) : (
          <>
            <p class="muted">
              The newest result of each directory, those that differ first; an agent verifying more than 30
              directories sends them in several uploads. Each bar spans the files verified plus the extra
              files at the target.
            </p>
            {directoryPage.pages > 1 ? (
              <p data-dirs-shown>
                {`Directories ${formatCount(first + 1)} to ${formatCount(first + directories.length)} of ${formatCount(directoryPage.count)}, ${formatCount(directoryPage.perPage)} to a page.`}
              </p>
            ) : null}
            <Legend />
            <ul class="dirs">
              {directories.map(({ result, finishedTime, runId, inLatestRun, findings }) => (
                <li class="dir" data-dir={result.dir_check}>
                  <h3>
                    <code>{visible(result.dir_check) || '(empty path)'}</code>
                    <VerdictBadge verdict={isConsistent(result) ? 'consistent' : 'inconsistent'} />
                  </h3>
                  <ProportionBar result={result} />
                  <DirectoryCounts result={result} />
                  <p class="when">
                    From run <code>{shortRun(runId)}</code> of <When ms={finishedTime} now={now} />
                    {inLatestRun ? ' (the latest run)' : '; not verified by the latest run'}
                  </p>
                  {findings ? (
                    <p class="findings-link">
                      <a href={findingsHref(task.id, result.dir_check)}>
                        {`${formatCount(findings.count)} ${findings.count === 1 ? 'finding' : 'findings'}: which files, and why`}
                      </a>
                      {findings.truncated ? ' (the agent cut the list)' : ''}
                    </p>
                  ) : isConsistent(result) ? null : (
                    <p class="muted">No per-file findings were uploaded with this run.</p>
                  )}
                </li>
              ))}
            </ul>
            {directoryPage.pages > 1 ? (
              <Pager
                label="Pages of directories"
                page={directoryPage.page}
                pages={directoryPage.pages}
                total={`${formatCount(directoryPage.count)} directories`}
                href={dirsHref}
              />
            ) : null}
          </>
        )}
      </section>

      {verification ? (
        <VerificationSection taskId={task.id} view={verification} session={session} now={now} />
      ) : null}

      <section aria-labelledby="history">
        <h2 id="history">History</h2>
        {history.length === 0 ? (
          <p>No uploads yet.</p>
        ) : (
          <>
            <p class="muted">
              {history.length < runCount
                ? `The newest ${formatCount(history.length)} of ${formatCount(runCount)} runs.`
                : runCount === 1
                  ? 'One run.'
                  : `All ${formatCount(runCount)} runs.`}{' '}
              A run is one verification by an agent, however many uploads it sent (30 directories an upload).
              Each bar is the task's files that did not match right after a run (different, missing and extra,
              over the newest result of each directory), oldest on the left; a green tick on the baseline is a
              moment when everything matched. The table lists what each run itself held.
            </p>
            <HistoryChart runs={history} />
            <details open={history.length <= 10}>
              <summary>Runs as a table</summary>
              <section class="table-wrap" aria-label="Runs" tabindex={0}>
                <table class="history">
                  <thead>
                    <tr>
                      <th scope="col">Ended (UTC)</th>
                      <th scope="col">Run</th>
                      <th scope="col" class="num">
                        Uploads
                      </th>
                      <th scope="col">Verdict</th>
                      {NUMBER_COLUMNS.map(([label]) => (
                        <th scope="col" class="num">
                          {label}
                        </th>
                      ))}
                      <th scope="col" class="num">
                        Task's gap after
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {history.map((upload) => (
                      <tr data-run={upload.run_id}>
                        <td>
                          <time datetime={new Date(upload.finished_time).toISOString()}>
                            {formatTime(upload.finished_time)}
                          </time>
                        </td>
                        <td>
                          <code title={upload.run_id}>{shortRun(upload.run_id)}</code>
                        </td>
                        <td class="num">{formatCount(upload.uploads)}</td>
                        <td>
                          <VerdictBadge verdict={verdictOf(upload.check_result)} />
                        </td>
                        {NUMBER_COLUMNS.map(([, field]) => (
                          <td class="num">{formatCount(upload[field])}</td>
                        ))}
                        <td class="num">
                          {formatCount(
                            upload.task_num_different_files +
                              upload.task_num_target_miss_files +
                              upload.task_num_target_more_files,
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </section>
            </details>
          </>
        )}
      </section>
    </Layout>
  );
};
