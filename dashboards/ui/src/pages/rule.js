// One rule (#/rules/{id}): its facts and YAML, its alerts over time, its scheduled runs and open
// gaps, and (analysts and up) a test of the rule on pasted events: NDJSON objects or raw log
// lines, parsed as ingest would, with the matches per event, correlation alerts and parse errors.

import { api } from '../api.js';
import { bars, facts, formatTime, h, loading, replace, severityBadge, statusBadge, table } from '../dom.js';
import { can, showError } from '../main.js';
import { ruleState, runSummary } from './rules.js';

const RANGES = {
  '24h': { hours: 24, buckets: 48 },
  '7d': { hours: 24 * 7, buckets: 56 },
  '30d': { hours: 24 * 30, buckets: 60 },
};
const FORMATS = ['auto', 'json', 'syslog3164', 'syslog5424', 'access_log', 'apache_error', 'auditd', 'cef', 'cloudtrail', 'envoy', 'k8s_audit', 'logfmt', 'otlp', 'text', 'windows', 'zeek'];
const MAX_PREVIEW = 160;

/** The posted events of the test form: a JSON array, or one event per line (a JSON object or a raw line). */
export function pastedEvents(text) {
  const trimmed = text.trim();
  if (!trimmed) return [];
  if (trimmed.startsWith('[')) {
    try {
      const parsed = JSON.parse(trimmed);
      if (Array.isArray(parsed)) return parsed;
    } catch {
      // not one JSON array: read it line by line
    }
  }
  return trimmed.split(/\r?\n/).filter((line) => line.trim() !== '').map((line) => {
    if (line.trim().startsWith('{')) {
      try {
        const value = JSON.parse(line);
        if (value && typeof value === 'object' && !Array.isArray(value)) return value;
      } catch {
        // a raw line that starts with a brace
      }
    }
    return line;
  });
}

export function rulePage(main, id) {
  const root = h('div', { 'data-testid': 'rule-page', 'data-rule-id': id }, loading());
  main.append(root);
  let alive = true;
  api(`/api/v1/rules/${encodeURIComponent(id)}`).then((rule) => {
    if (alive) render(root, rule);
  }).catch((error) => {
    if (!alive) return;
    replace(root, h('p', {}, h('a', { href: '#/rules' }, '← Rules')));
    showError(error);
  });
  return () => {
    alive = false;
  };
}

function render(root, rule) {
  const state = h('span', {});
  const setState = (entry) => {
    Object.assign(rule, entry);
    replace(state, ruleState(rule, (next) => {
      setState(next);
      state.querySelector('button')?.focus();
    }));
  };
  setState(rule);
  const summary = h('section', { class: 'card', 'data-testid': 'rule-summary' },
    facts([
      ['Id', h('code', {}, rule.id)],
      ['Name', rule.name],
      ['Kind', rule.kind],
      ['Level', rule.level ? severityBadge(rule.level) : ''],
      ['Status', rule.status],
      ['Tags', (rule.tags ?? []).length ? (rule.tags ?? []).map((tag) => h('span', { class: 'chip' }, tag)) : ''],
      ['State', state],
      ['Source', `${rule.source} (${rule.path})`],
      ['Alerts stored', String(rule.hits ?? 0)],
      ['Schedule', rule.schedule ? `every ${rule.schedule.interval}, over ${rule.schedule.lookback}, ${rule.schedule.delay} late` : ''],
      ['Last run', rule.kind === 'sql' ? runSummary(rule.last_run) : ''],
      ['Open gaps', rule.kind === 'sql' ? String(rule.open_gaps ?? 0) : ''],
    ], { 'data-testid': 'rule-facts' }));

  const hitsBox = h('section', { class: 'card', 'data-testid': 'rule-hits' }, h('h2', {}, 'Alerts over time'));
  const rangeSelect = h('select', { id: 'rule-hits-range', 'data-testid': 'rule-hits-range', 'aria-label': 'Range' },
    Object.keys(RANGES).map((key) => h('option', { value: key }, `last ${key}`)));
  const hitsChart = h('div', { class: 'hits-chart-box' }, loading());
  hitsBox.append(h('div', { class: 'inline' }, rangeSelect), hitsChart);
  const loadHits = async () => {
    const range = RANGES[rangeSelect.value];
    const to = new Date();
    const from = new Date(to.getTime() - range.hours * 3600_000);
    replace(hitsChart, loading());
    try {
      const answer = await api('/api/v1/rules/hits', {
        params: { from: from.toISOString(), to: to.toISOString(), buckets: range.buckets, rule: rule.id },
      });
      const hits = (answer.rules ?? [])[0] ?? { total: 0, counts: new Array(answer.buckets).fill(0) };
      const start = new Date(answer.from).getTime();
      const seconds = answer.bucket_seconds;
      replace(hitsChart,
        bars(hits.counts, {
          width: 600, height: 80, className: 'hits-chart', testid: 'rule-hits-chart',
          label: `${hits.total} alerts between ${formatTime(answer.from)} and ${formatTime(answer.to)}`,
          title: (index, value) => `${formatTime(new Date(start + index * seconds * 1000).toISOString())}: ${value}`,
        }),
        h('div', { class: 'axis-ends muted small' }, h('span', {}, formatTime(answer.from)), h('span', {}, formatTime(answer.to))),
        h('p', { class: 'muted', 'data-testid': 'rule-hits-total' }, `${hits.total} alerts, ${seconds >= 3600 ? `${seconds / 3600} h` : `${seconds / 60} min`} per bar`));
    } catch (error) {
      hitsChart.replaceChildren();
      showError(error);
    }
  };
  rangeSelect.addEventListener('change', loadHits);
  loadHits();

  const runsBox = h('section', { class: 'card', 'data-testid': 'rule-runs' }, h('h2', {}, 'Scheduled runs'), loading());
  const runRow = (run) => [statusBadge(run.status), run.trigger, formatTime(run.slot_end), String(run.attempt ?? ''),
    String(run.events_scanned ?? ''), String(run.alerts ?? ''), run.error ?? ''];
  const headers = ['Status', 'Trigger', 'Slot end', 'Attempt', 'Events scanned', 'Alerts', 'Error'];
  Promise.all([
    api('/api/v1/jobs', { params: { job: rule.id, limit: 20 } }),
    api('/api/v1/jobs/gaps'),
  ]).then(([{ runs = [] }, { jobs = [] }]) => {
    const gaps = jobs.find((job) => job.job_id === rule.id)?.gaps ?? [];
    replace(runsBox, h('h2', {}, 'Scheduled runs'),
      runs.length === 0
        ? h('p', { class: 'muted', 'data-testid': 'rule-no-runs' }, rule.kind === 'sql' ? 'No run yet.' : 'A streaming rule: it runs on every published segment, not on a schedule.')
        : table(headers, runs.map(runRow), { 'data-testid': 'rule-runs-table' }),
      gaps.length ? [h('h3', {}, `Open gaps (${gaps.length})`), table(headers, gaps.map(runRow), { 'data-testid': 'rule-gaps-table' }),
        h('p', { class: 'note' }, 'Fill them with weft jobs backfill.')] : null);
  }).catch((error) => {
    replace(runsBox, h('h2', {}, 'Scheduled runs'));
    showError(error);
  });

  const yaml = h('section', { class: 'card' }, h('h2', {}, 'YAML'),
    h('pre', { class: 'yaml', 'data-testid': 'rule-yaml', tabindex: '0', 'aria-label': 'Rule YAML' }, rule.yaml ?? ''));

  replace(root,
    h('p', {}, h('a', { href: '#/rules', 'data-testid': 'back-to-rules' }, '← Rules')),
    h('h1', { 'data-testid': 'rule-title' }, rule.title ?? rule.id),
    summary, hitsBox,
    can('analyst') ? testForm(rule) : null,
    runsBox, yaml);
}

function testForm(rule) {
  const input = h('textarea', {
    id: 'rule-test-input', class: 'code', rows: 8, 'data-testid': 'rule-test-input', spellcheck: 'false',
    placeholder: '{"service": "auth-api", "event": {"action": "login", "outcome": "failure"}, "user": {"name": "alice"}}\n<38>1 2026-11-20T10:00:00Z bastion-1 sshd 4242 - - Failed password for alice from 203.0.113.7 port 50001 ssh2',
  });
  const format = h('select', { id: 'rule-test-format', 'data-testid': 'rule-test-format' },
    FORMATS.map((value) => h('option', { value }, value)));
  const result = h('div', { 'data-testid': 'rule-test-result', 'aria-live': 'polite' });
  const run = h('button', { type: 'submit', 'data-testid': 'rule-test-run' }, 'Test');
  const form = h('form', {
    class: 'stack', 'data-testid': 'rule-test-form',
    onsubmit: async (event) => {
      event.preventDefault();
      const events = pastedEvents(input.value);
      if (events.length === 0) {
        replace(result, h('p', { class: 'muted' }, 'Paste at least one event.'));
        return;
      }
      run.disabled = true;
      replace(result, loading());
      try {
        const report = await api('/api/v1/rules/test', {
          method: 'POST', body: { rule_id: rule.id, events, format: format.value },
        });
        replace(result, testReport(report, events));
      } catch (error) {
        result.replaceChildren();
        showError(error);
      } finally {
        run.disabled = false;
      }
    },
  },
  h('label', { for: 'rule-test-input' }, 'Events: one JSON object or raw log line per line, or a JSON array'),
  input,
  h('div', { class: 'inline' }, h('label', { for: 'rule-test-format' }, 'Format'), format, run));
  return h('section', { class: 'card', 'data-testid': 'rule-test' },
    h('h2', {}, 'Test on events'),
    h('p', { class: 'muted' }, 'Runs this rule over the pasted events as ingest would read them. Nothing is stored.'),
    form, result);
}

function preview(value) {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > MAX_PREVIEW ? `${text.slice(0, MAX_PREVIEW)}…` : text;
}

function testReport(report, events) {
  const matches = report.matches ?? [];
  const errors = report.errors ?? [];
  const alerts = report.alerts ?? [];
  const rows = events.map((event, index) => {
    const matched = matches.filter((match) => match.event_index === index);
    const error = errors.find((item) => item.index === index);
    let outcome;
    if (error) outcome = h('span', { class: 'bad', 'data-testid': 'rule-test-error' }, `not parsed: ${error.reason}`);
    else if (matched.length) {
      outcome = matched.map((match) => h('div', { class: 'ok', 'data-testid': 'rule-test-match' },
        '✓ ', match.rule_title, match.level ? [' ', severityBadge(match.level)] : null));
    } else outcome = h('span', { class: 'muted' }, 'no match');
    return { index, event, outcome, matched: matched.length > 0 };
  });
  const body = h('tbody', {}, rows.map((row) => h('tr', { 'data-testid': 'rule-test-event', 'data-matched': String(row.matched) },
    h('td', { class: 'num' }, String(row.index + 1)),
    h('td', { class: 'message' }, h('code', {}, preview(row.event))),
    h('td', {}, row.outcome))));
  return [
    h('p', { 'data-testid': 'rule-test-summary' },
      `${report.events} events posted, ${report.parsed} parsed, ${matches.length} matches, ${alerts.length} alerts, ${errors.length} parse errors`,
      report.truncated ? ' (results cut short)' : ''),
    h('div', { class: 'table-wrap' }, h('table', { 'data-testid': 'rule-test-events' },
      h('thead', {}, h('tr', {}, ['#', 'Event', 'Result'].map((label) => h('th', { scope: 'col' }, label)))), body)),
    alerts.length ? [h('h3', {}, 'Alerts'), table(['Rule', 'Title', 'Window', 'Events', 'Group'], alerts.map((alert) => [
      alert.rule_name ?? alert.rule_id ?? '',
      alert.title ?? '',
      `${formatTime(alert.window_start)} – ${formatTime(alert.window_end)}`,
      String(alert.event_count ?? (alert.event_ids ?? []).length),
      Object.entries(alert.group ?? {}).map(([key, value]) => `${key}=${value}`).join(', '),
    ]), { 'data-testid': 'rule-test-alerts' })] : null,
  ];
}
