// Health: events per second per service (with the last hour per minute), Kafka consumer lag
// where the API runs beside the worker, dead letters, and per scheduled job its status, next
// due slot and open gaps; then the latest job runs and every open gap. Refreshed every 30 s.

import { api } from '../api.js';
import { age, bars, facts, formatTime, h, loading, perSecond, replace, statusBadge, table } from '../dom.js';
import { showError } from '../main.js';

const REFRESH_MS = 30_000;
const number = (value) => (value === undefined || value === null ? '' : Number(value).toLocaleString('en-US'));

function section(testid, title) {
  return h('section', { class: 'card', 'data-testid': testid }, h('h2', {}, title), loading());
}

export function healthPage(main) {
  const ingest = section('health-ingest', 'Ingest');
  const services = section('health-services', 'Events per service');
  const lag = section('kafka-lag', 'Kafka consumer lag');
  const dead = section('dead-letters', 'Dead letters');
  const status = section('health-job-status', 'Scheduled jobs');
  const jobs = section('health-jobs', 'Job runs');
  const gaps = section('health-gaps', 'Gaps');
  const updated = h('span', { class: 'muted', 'data-testid': 'health-refreshed' });
  main.append(h('div', { class: 'page-head' }, h('h1', {}, 'Health'), updated),
    ingest, services, h('div', { class: 'two' }, lag, dead), status, jobs, gaps);

  let alive = true;
  const load = async () => {
    await Promise.all([
      api('/api/v1/ingest/stats').then((stats) => {
        if (alive) renderIngest({ ingest, services, lag, dead }, stats);
      }).catch((error) => {
        replace(ingest, h('h2', {}, 'Ingest'));
        showError(error);
      }),
      api('/api/v1/jobs/status').then(({ jobs: list = [] }) => {
        if (alive) renderStatus(status, list);
      }).catch((error) => {
        replace(status, h('h2', {}, 'Scheduled jobs'));
        showError(error);
      }),
      loadRuns(jobs, gaps),
    ]);
    if (alive) replace(updated, `updated ${formatTime(new Date().toISOString())}`);
  };
  load();
  const timer = setInterval(load, REFRESH_MS);
  return () => {
    alive = false;
    clearInterval(timer);
  };
}

function renderIngest({ ingest, services, lag, dead }, stats) {
  const rate = (window) => (window ? `${number(window.events)} events (${perSecond(window.events_per_second)})` : '');
  const letters = stats.dead_letters ?? {};
  replace(ingest, h('h2', {}, 'Ingest'),
    facts([
      ['Events', number(stats.events)],
      ['Segments', number(stats.segments)],
      ['Bytes', number(stats.bytes)],
      ['Newest event', stats.newest_event ? `${formatTime(stats.newest_event)} (${age(stats.newest_event)})` : 'none'],
      ['Oldest event', formatTime(stats.oldest_event)],
      ['Last published', stats.last_published ? `${formatTime(stats.last_published)} (${age(stats.last_published)})` : ''],
      ['Published, last 5 minutes', rate(stats.last_5m)],
      ['Published, last hour', rate(stats.last_1h)],
      ['Dead letters', number(letters.total ?? 0)],
    ], { 'data-testid': 'ingest-facts' }),
    (stats.notes ?? []).filter((note) => !note.startsWith('kafka lag'))
      .map((note) => h('p', { class: 'note', 'data-testid': 'ingest-note' }, note)),
    (stats.kafka ?? []).length ? [h('h3', {}, 'Kafka offsets recorded'),
      table(['Topic', 'Partition', 'Next offset'], stats.kafka.map((row) => [row.topic, String(row.partition), number(row.next_offset)]),
        { 'data-testid': 'kafka-offsets' })] : null);

  const from = stats.services_from ? new Date(stats.services_from).getTime() : Date.now() - 3600_000;
  const list = stats.services ?? [];
  const body = h('tbody', {}, list.map((row) => h('tr', { 'data-testid': 'service-rate-row', 'data-service': row.service },
    h('th', { scope: 'row' }, row.service),
    h('td', { class: 'num', 'data-testid': 'service-rate-5m' }, perSecond(row.events_per_second_last_5m)),
    h('td', { class: 'num', 'data-testid': 'service-rate-1h' }, perSecond(row.events_per_second_last_hour)),
    h('td', { class: 'num' }, number(row.events_last_hour)),
    h('td', { class: 'chart-cell' }, bars(row.per_minute ?? [], {
      width: 180, height: 28, testid: 'service-minutes',
      label: `${row.service}: events per minute over the last hour`,
      title: (index, value) => `${formatTime(new Date(from + index * 60_000).toISOString())}: ${value} events`,
    })))));
  replace(services, h('h2', {}, 'Events per service'),
    h('p', { class: 'muted' }, 'By event time, over the last hour.'),
    list.length === 0
      ? h('p', { class: 'muted', 'data-testid': 'no-service-rates' }, 'No events in the last hour.')
      : h('div', { class: 'table-wrap' }, h('table', { 'data-testid': 'service-rates' },
        h('thead', {}, h('tr', {}, ['Service', 'Events/s, 5 min', 'Events/s, 1 h', 'Events, 1 h', 'Per minute, 1 h']
          .map((label) => h('th', { scope: 'col' }, label)))), body)));

  const kafkaLag = stats.kafka_lag ?? {};
  const partitions = kafkaLag.partitions ?? [];
  replace(lag, h('h2', {}, 'Kafka consumer lag'),
    kafkaLag.known
      ? [h('p', { class: 'muted' }, `Measured ${formatTime(kafkaLag.measured_at)} (${age(kafkaLag.measured_at)}); total ${number(partitions.reduce((sum, row) => sum + row.lag, 0))} messages behind.`),
        partitions.length
          ? table(['Topic', 'Partition', 'Next offset', 'High watermark', 'Lag'], partitions.map((row) => [
            row.topic, String(row.partition), number(row.next_offset), number(row.high_watermark),
            h('span', { class: row.lag > 0 ? 'bad' : 'ok', 'data-testid': 'kafka-lag-value' }, number(row.lag))]), { 'data-testid': 'kafka-lag-table' })
          : h('p', { class: 'muted' }, 'The worker holds no partition.')]
      : h('p', { class: 'muted', 'data-testid': 'kafka-lag-unknown' },
        (stats.notes ?? []).find((note) => note.startsWith('kafka lag')) ?? 'Not known here.'));

  const reasons = Object.entries(letters.by_reason ?? {});
  const origins = Object.entries(letters.by_origin ?? {});
  replace(dead, h('h2', {}, 'Dead letters'),
    h('p', { 'data-testid': 'dead-letter-total' }, `${number(letters.total ?? 0)} records could not be read${letters.unreadable ? `; ${number(letters.unreadable)} unreadable lines` : ''}.`),
    reasons.length ? table(['Reason', 'Count'], reasons.map(([reason, count]) => [reason, number(count)]), { 'data-testid': 'dead-letter-reasons' }) : null,
    origins.length ? table(['Origin', 'Count'], origins.map(([origin, count]) => [origin, number(count)]), { 'data-testid': 'dead-letter-origins' }) : null,
    h('p', { class: 'muted small' }, 'Kafka dead letters go to <topic>.dlq topics and are not counted here.'));
}

function renderStatus(box, list) {
  const last = (run) => (run ? [statusBadge(run.status), ' ', h('span', { title: formatTime(run.slot_end) }, age(run.finished ?? run.slot_end))] : h('span', { class: 'muted' }, 'never'));
  replace(box, h('h2', {}, 'Scheduled jobs'),
    list.length === 0 ? h('p', { class: 'muted', 'data-testid': 'no-jobs' }, 'No scheduled job.') : h('div', { class: 'table-wrap' },
      h('table', { 'data-testid': 'job-status-table' },
        h('thead', {}, h('tr', {}, ['Job', 'Every', 'Last run', 'Last success', 'Next due', 'Open gaps']
          .map((label) => h('th', { scope: 'col' }, label)))),
        h('tbody', {}, list.map((job) => h('tr', { 'data-testid': 'job-status-row', 'data-job-id': job.job_id },
          h('th', { scope: 'row' }, job.kind === 'sql' ? h('a', { href: `#/rules/${encodeURIComponent(job.job_id)}` }, job.job_id) : job.job_id,
            job.enabled === false ? h('span', { class: 'muted' }, ' (disabled)') : null),
          h('td', {}, job.interval ?? ''),
          h('td', { 'data-testid': 'job-last-run' }, last(job.last_run)),
          h('td', {}, job.last_success ? formatTime(job.last_success.slot_end) : ''),
          h('td', { 'data-testid': 'job-next-due' }, job.next_due ? formatTime(job.next_due) : h('span', { class: 'muted' }, 'not known')),
          h('td', { class: job.open_gaps ? 'num bad' : 'num', 'data-testid': 'job-open-gaps' }, String(job.open_gaps))))))));
}

async function loadRuns(jobs, gaps) {
  const runRow = (run) => [run.job_id, statusBadge(run.status), run.trigger, formatTime(run.slot_end), String(run.attempt ?? ''),
    number(run.events_scanned), number(run.alerts), run.error ?? ''];
  const headers = ['Job', 'Status', 'Trigger', 'Slot end', 'Attempt', 'Events scanned', 'Alerts', 'Error'];
  await Promise.all([
    api('/api/v1/jobs').then(({ runs = [] }) => {
      replace(jobs, h('h2', {}, 'Job runs'), runs.length === 0 ? h('p', { class: 'muted' }, 'No scheduled job has run.') : null,
        runs.length ? table(headers, runs.map(runRow), { 'data-testid': 'jobs-table' }) : null);
    }).catch((error) => {
      replace(jobs, h('h2', {}, 'Job runs'));
      showError(error);
    }),
    api('/api/v1/jobs/gaps').then(({ jobs: list = [] }) => {
      const rows = list.flatMap((job) => (job.gaps ?? []).map(runRow));
      replace(gaps, h('h2', {}, 'Gaps'), rows.length === 0 ? h('p', { class: 'muted', 'data-testid': 'no-gaps' }, 'No open gaps.') : null,
        rows.length ? table(headers, rows, { 'data-testid': 'gaps-table' }) : null);
    }).catch((error) => {
      replace(gaps, h('h2', {}, 'Gaps'));
      showError(error);
    }),
  ]);
}
