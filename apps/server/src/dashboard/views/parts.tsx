import { type ConsistencyResult, fileBreakdown, type Verdict } from '@sms/domain';
import type { FC } from 'hono/jsx';
import type { RunSummary } from '../../services/dashboard-service.js';
import { formatCount, formatTime, PARTS, VERDICT_LABEL } from '../format.js';

export const VerdictBadge: FC<{ verdict: Verdict }> = ({ verdict }) => (
  <span class={`badge ${verdict}`}>{VERDICT_LABEL[verdict]}</span>
);

/** The colours of the bars and the chart, named. */
export const Legend: FC = () => (
  <ul class="legend" aria-label="Legend">
    {PARTS.map((part) => (
      <li>
        <span class={`swatch ${part.key}`} aria-hidden="true" />
        {part.label}
      </li>
    ))}
  </ul>
);

/** The sentence a bar stands for: what a screen reader says and a tooltip shows. */
export function barSentence(result: ConsistencyResult): string {
  const parts = fileBreakdown(result);
  const files = result.num_total_files + result.num_target_more_files;
  return `${result.dir_check || '(empty path)'}: ${PARTS.map((p) => `${formatCount(parts[p.key])} ${p.label.toLowerCase()}`).join(', ')}, of ${formatCount(files)} files`;
}

/**
 * A directory's files as one proportional bar: matching, different, missing
 * and extra, each as wide as its share of all the files seen (verified + extra).
 * A part that is not zero is never thinner than 3 px, so one bad file shows.
 */
export const ProportionBar: FC<{ result: ConsistencyResult }> = ({ result }) => {
  const parts = fileBreakdown(result);
  const files = result.num_total_files + result.num_target_more_files;
  const sentence = barSentence(result);
  return (
    <div class="bar" role="img" aria-label={sentence} title={sentence}>
      {files === 0
        ? null
        : PARTS.filter((p) => parts[p.key] > 0).map((p) => (
            <span
              class={`seg ${p.key}`}
              data-part={p.key}
              data-count={String(parts[p.key])}
              style={`width:${((parts[p.key] / files) * 100).toFixed(4)}%`}
            />
          ))}
    </div>
  );
};

/** The numbers under a bar, one per part, with the files verified first. */
export const DirectoryCounts: FC<{ result: ConsistencyResult }> = ({ result }) => {
  const parts = fileBreakdown(result);
  return (
    <ul class="dir-counts">
      <li>
        Verified <strong data-count="total">{formatCount(result.num_total_files)}</strong>
      </li>
      {PARTS.map((p) => (
        <li>
          <span class={`swatch ${p.key}`} aria-hidden="true" /> {p.label}{' '}
          <strong data-count={p.key}>{formatCount(parts[p.key])}</strong>
        </li>
      ))}
    </ul>
  );
};

const CHART = { width: 640, height: 180, left: 56, right: 8, top: 12, bottom: 34 } as const;

/** A run's id as the pages show it: its first 8 characters (an upload stored before runs were kept: "upload N"). */
export function shortRun(runId: string): string {
  return runId.startsWith('upload:') ? `upload ${runId.slice(7)}` : runId.slice(0, 8);
}

/**
 * The history as stacked bars, oldest on the left, one a run (an agent's
 * verify, however many uploads it sent): the task's gap (different +
 * missing + extra files over the newest result of each directory) right
 * after each run, so a user sees whether it is closing, also when runs
 * cover only some directories. No gap is a small green tick on the baseline.
 */
export const HistoryChart: FC<{ runs: readonly RunSummary[] }> = ({ runs }) => {
  const oldestFirst = [...runs].reverse();
  const gaps = oldestFirst.map(
    (u) => u.task_num_different_files + u.task_num_target_miss_files + u.task_num_target_more_files,
  );
  const max = Math.max(1, ...gaps);
  const plotWidth = CHART.width - CHART.left - CHART.right;
  const plotHeight = CHART.height - CHART.top - CHART.bottom;
  const slot = plotWidth / Math.max(oldestFirst.length, 1);
  const barWidth = Math.max(2, Math.min(28, slot * 0.7));
  const y = (value: number) => CHART.top + plotHeight - (value / max) * plotHeight;
  const first = oldestFirst[0];
  const last = oldestFirst.at(-1);
  const description =
    first && last
      ? `${oldestFirst.length} ${oldestFirst.length === 1 ? 'run' : 'runs'} from ${formatTime(first.finished_time)} to ${formatTime(last.finished_time)}; the task's gap went from ${formatCount(gaps[0] ?? 0)} to ${formatCount(gaps.at(-1) ?? 0)} files.`
      : 'No runs yet.';
  return (
    <svg
      class="chart"
      viewBox={`0 0 ${CHART.width} ${CHART.height}`}
      role="img"
      aria-labelledby="chart-title chart-desc"
    >
      <title id="chart-title">The task's files not matching after each run, oldest to newest</title>
      <desc id="chart-desc">{description}</desc>
      <defs>
        <pattern
          id="missing-stripes"
          width="6"
          height="6"
          patternUnits="userSpaceOnUse"
          patternTransform="rotate(45)"
        >
          <rect width="6" height="6" fill="#c4293b" />
          <rect width="2" height="6" fill="#7e1422" />
        </pattern>
      </defs>
      <line x1={CHART.left} x2={CHART.width - CHART.right} y1={y(0)} y2={y(0)} stroke="#1a1a1a" />
      <line x1={CHART.left} x2={CHART.left} y1={CHART.top} y2={y(0)} stroke="#1a1a1a" />
      <text x={CHART.left - 6} y={CHART.top + 4} text-anchor="end">
        {formatCount(max)}
      </text>
      <text x={CHART.left - 6} y={y(0) + 4} text-anchor="end">
        0
      </text>
      {oldestFirst.map((upload, i) => {
        const x = CHART.left + i * slot + (slot - barWidth) / 2;
        let base = 0;
        const stack = (
          [
            ['different', upload.task_num_different_files],
            ['missing', upload.task_num_target_miss_files],
            ['extra', upload.task_num_target_more_files],
          ] as const
        )
          .filter(([, count]) => count > 0)
          .map(([kind, count]) => {
            const rect = (
              <rect
                class={kind}
                x={x}
                width={barWidth}
                y={y(base + count)}
                height={y(base) - y(base + count)}
              />
            );
            base += count;
            return rect;
          });
        return (
          <g data-run={String(i)}>
            <title>{`after run ${shortRun(upload.run_id)} (${formatCount(upload.uploads)} ${upload.uploads === 1 ? 'upload' : 'uploads'}, ended ${formatTime(upload.finished_time)}): ${formatCount(upload.task_num_different_files)} different, ${formatCount(upload.task_num_target_miss_files)} missing, ${formatCount(upload.task_num_target_more_files)} extra of ${formatCount(upload.task_num_total_files)} verified in ${formatCount(upload.task_dir_count)} ${upload.task_dir_count === 1 ? 'directory' : 'directories'}`}</title>
            {stack.length > 0 ? stack : <rect class="ok" x={x} width={barWidth} y={y(0) - 3} height={3} />}
          </g>
        );
      })}
      {first && last ? (
        <>
          <text x={CHART.left} y={CHART.height - 10}>
            {formatTime(first.finished_time)}
          </text>
          <text x={CHART.width - CHART.right} y={CHART.height - 10} text-anchor="end">
            {formatTime(last.finished_time)}
          </text>
        </>
      ) : null}
    </svg>
  );
};

/** Links to the first, previous, next and last pages around the page shown, and where it stands. */
export const Pager: FC<{
  label: string;
  page: number;
  pages: number;
  /** What the pages hold in all, e.g. "2,345 tasks". */
  total: string;
  href: (page: number) => string;
}> = ({ label, page, pages, total, href }) => (
  <nav class="pager" aria-label={label}>
    {page > 1 ? (
      <>
        <a href={href(1)}>« First</a>
        <a href={href(page - 1)} rel="prev">
          ‹ Previous
        </a>
      </>
    ) : null}
    <span aria-current="page">
      Page {formatCount(page)} of {formatCount(pages)} · {total}
    </span>
    {page < pages ? (
      <>
        <a href={href(page + 1)} rel="next">
          Next ›
        </a>
        <a href={href(pages)}>Last »</a>
      </>
    ) : null}
  </nav>
);
