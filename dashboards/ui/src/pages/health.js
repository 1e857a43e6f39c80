// Health: ingest statistics, scheduled job runs and their open gaps.

import { api } from '../api.js';
import { age, facts, formatTime, h, loading, replace, table } from '../dom.js';
import { showError } from '../main.js';

const number = (value) => (value === undefined || value === null ? '' : Number(value).toLocaleString('en-US'));

export function healthPage(main) {
  const ingest = h('section', { class: 'card', 'data-testid': 'health-ingest' }, h('h2', {}, 'Ingest'), loading());
  const jobs = h('section', { class: 'card', 'data-testid': 'health-jobs' }, h('h2', {}, 'Job runs'), loading());
  const gaps = h('section', { class: 'card', 'data-testid': 'health-gaps' }, h('h2', {}, 'Gaps'), loading());
  main.append(h('h1', {}, 'Health'), ingest, jobs, gaps);

  api('/api/v1/ingest/stats').then((stats) => {
    const rate = (window) => (window ? `${number(window.events)} events (${(window.events_per_second ?? 0).toFixed(2)}/s)` : '');
    const dead = stats.dead_letters ?? {};
    replace(ingest, h('h2', {}, 'Ingest'),
      facts([
        ['Events', number(stats.events)],
        ['Segments', number(stats.segments)],
        ['Bytes', number(stats.bytes)],
        ['Newest event', stats.newest_event ? `${formatTime(stats.newest_event)} (${age(stats.newest_event)})` : 'none'],
        ['Oldest event', formatTime(stats.oldest_event)],
        ['Last published', stats.last_published ? `${formatTime(stats.last_published)} (${age(stats.last_published)})` : ''],
        ['Last 5 minutes', rate(stats.last_5m)],
        ['Last hour', rate(stats.last_1h)],
        ['Dead letters', number(dead.total ?? 0)],
      ], { 'data-testid': 'ingest-facts' }),
      (stats.notes ?? []).map((note) => h('p', { class: 'note' }, note)),
      h('h3', {}, 'Services'),
      table(['Service', 'Events in the last hour'], (stats.services ?? []).map((row) => [row.service, number(row.events_last_hour)])),
      (stats.kafka ?? []).length ? [h('h3', {}, 'Kafka'),
        table(['Topic', 'Partition', 'Next offset'], stats.kafka.map((row) => [row.topic, String(row.partition), number(row.next_offset)]))] : null,
      Object.keys(dead.by_reason ?? {}).length ? [h('h3', {}, 'Dead letters by reason'),
        table(['Reason', 'Count'], Object.entries(dead.by_reason).map(([reason, count]) => [reason, number(count)]))] : null);
  }).catch((error) => {
    replace(ingest, h('h2', {}, 'Ingest'));
    showError(error);
  });

  const runRow = (run) => [run.job_id, run.status, run.trigger, formatTime(run.slot_end), String(run.attempt ?? ''),
    number(run.events_scanned), number(run.alerts), run.error ?? ''];
  api('/api/v1/jobs').then(({ runs = [] }) => {
    replace(jobs, h('h2', {}, 'Job runs'), runs.length === 0 ? h('p', { class: 'muted' }, 'No scheduled job has run.') : null,
      runs.length ? table(['Job', 'Status', 'Trigger', 'Slot end', 'Attempt', 'Events scanned', 'Alerts', 'Error'], runs.map(runRow),
        { 'data-testid': 'jobs-table' }) : null);
  }).catch((error) => {
    replace(jobs, h('h2', {}, 'Job runs'));
    showError(error);
  });
  api('/api/v1/jobs/gaps').then(({ jobs: list = [] }) => {
    const rows = list.flatMap((job) => (job.gaps ?? []).map(runRow));
    replace(gaps, h('h2', {}, 'Gaps'), rows.length === 0 ? h('p', { class: 'muted', 'data-testid': 'no-gaps' }, 'No open gaps.') : null,
      rows.length ? table(['Job', 'Status', 'Trigger', 'Slot end', 'Attempt', 'Events scanned', 'Alerts', 'Error'], rows,
        { 'data-testid': 'gaps-table' }) : null);
  }).catch((error) => {
    replace(gaps, h('h2', {}, 'Gaps'));
    showError(error);
  });
}
