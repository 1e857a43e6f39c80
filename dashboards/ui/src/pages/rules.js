// The rule catalogue: per rule its level, tags, state (admins enable and disable it here), alerts
// per hour over the last 24 hours, the last scheduled run and open gaps of SQL rules; and the
// documents the loaders refused. A rule's title opens its page (#/rules/{id}).

import { api } from '../api.js';
import { age, bars, formatTime, h, loading, replace, severityBadge, statusBadge, table } from '../dom.js';
import { can, showError } from '../main.js';

const HIT_BUCKETS = 24;

/** The rule's page. */
export function ruleHref(id) {
  return `#/rules/${encodeURIComponent(id)}`;
}

/** The state cell: enabled or disabled, and for admins a button that flips it. */
export function ruleState(rule, onChange) {
  const label = h('span', { class: rule.enabled ? 'ok' : 'muted', 'data-testid': 'rule-enabled' }, rule.enabled ? 'enabled' : 'disabled');
  if (!can('admin')) return label;
  const button = h('button', {
    type: 'button', class: 'secondary small', 'data-testid': 'rule-toggle',
    'aria-label': `${rule.enabled ? 'Disable' : 'Enable'} ${rule.title ?? rule.id}`,
    onclick: async () => {
      button.disabled = true;
      try {
        const entry = await api(`/api/v1/rules/${encodeURIComponent(rule.id)}/${rule.enabled ? 'disable' : 'enable'}`, { method: 'POST' });
        onChange(entry);
      } catch (error) {
        button.disabled = false;
        showError(error);
      }
    },
  }, rule.enabled ? 'Disable' : 'Enable');
  return h('span', { class: 'state' }, label, button);
}

/** A run's status and when its slot ended. */
export function runSummary(run) {
  if (!run) return h('span', { class: 'muted' }, 'never');
  return h('span', { class: 'nowrap', title: formatTime(run.slot_end) }, statusBadge(run.status), ' ', age(run.finished ?? run.slot_end));
}

/** Hits per bucket as a sparkline, with the total. */
export function hitsCell(rule, hits, from, bucketSeconds) {
  const counts = hits?.counts ?? new Array(HIT_BUCKETS).fill(0);
  const start = from ? new Date(from).getTime() : 0;
  const total = hits?.total ?? 0;
  return h('span', { class: 'hits' },
    bars(counts, {
      label: `${total} alerts in the last 24 hours`,
      title: (index, value) => `${formatTime(new Date(start + index * bucketSeconds * 1000).toISOString())}: ${value}`,
    }),
    h('span', { class: 'num', 'data-testid': 'rule-hits-total' }, String(total)));
}

export function rulesPage(main) {
  const root = h('div', { 'data-testid': 'rules-page' }, loading());
  const search = h('input', { type: 'search', id: 'rule-filter', 'data-testid': 'rule-filter', placeholder: 'title, id or tag', 'aria-label': 'Filter rules' });
  main.append(h('div', { class: 'page-head' }, h('h1', {}, 'Rules'), search), root);
  let rules = [];
  let refused = [];
  let hits = { rules: [] };

  const render = () => {
    const text = search.value.trim().toLowerCase();
    const byRule = new Map((hits.rules ?? []).map((entry) => [entry.rule, entry]));
    const shown = rules.filter((rule) => !text || [rule.title, rule.id, rule.name, ...(rule.tags ?? [])]
      .some((field) => String(field ?? '').toLowerCase().includes(text)));
    const body = h('tbody', {});
    for (const rule of shown) {
      const tr = h('tr', { 'data-testid': 'rule-row', 'data-rule-id': rule.id });
      const cells = [
        [h('a', { href: ruleHref(rule.id), 'data-testid': 'rule-link' }, rule.title ?? rule.id), h('div', { class: 'muted small' }, rule.kind ?? '')],
        rule.level ? severityBadge(rule.level) : '',
        (rule.tags ?? []).map((tag) => h('span', { class: 'chip' }, tag)),
        ruleState(rule, (entry) => {
          Object.assign(rule, entry);
          render();
          root.querySelector(`[data-rule-id="${CSS.escape(rule.id)}"] [data-testid="rule-toggle"]`)?.focus();
        }),
        hitsCell(rule, byRule.get(rule.id), hits.from, hits.bucket_seconds ?? 3600),
        rule.kind === 'sql' ? h('span', { 'data-testid': 'rule-last-run' }, runSummary(rule.last_run)) : h('span', { class: 'muted' }, 'streaming'),
        rule.kind === 'sql'
          ? h('span', { class: rule.open_gaps ? 'bad' : '', 'data-testid': 'rule-gaps' }, String(rule.open_gaps ?? 0))
          : h('span', { class: 'muted' }, '—'),
      ];
      for (const cell of cells) tr.append(h('td', {}, cell));
      body.append(tr);
    }
    replace(root,
      h('p', { class: 'muted', 'data-testid': 'rules-count' },
        `${rules.length} rules, ${rules.filter((rule) => rule.enabled).length} enabled${shown.length < rules.length ? `; ${shown.length} shown` : ''}`),
      h('div', { class: 'table-wrap' }, h('table', { 'data-testid': 'rules-table', class: 'rules' },
        h('thead', {}, h('tr', {}, ['Rule', 'Level', 'Tags', 'State', 'Alerts, 24 h', 'Last run', 'Gaps']
          .map((label) => h('th', { scope: 'col' }, label)))),
        body)),
      refused.length ? [h('h2', {}, 'Refused'),
        table(['Path', 'Id', 'Title', 'Reason'], refused.map((item) => [item.path ?? '', item.id ?? '', item.title ?? '', item.reason]),
          { 'data-testid': 'rules-refused' })] : null);
  };

  search.addEventListener('input', () => { if (rules.length) render(); });
  Promise.all([
    api('/api/v1/rules'),
    api('/api/v1/rules/hits', { params: { buckets: HIT_BUCKETS } }).catch((error) => {
      showError(error);
      return { rules: [] };
    }),
  ]).then(([catalogue, answer]) => {
    rules = catalogue.rules ?? [];
    refused = catalogue.refused ?? [];
    hits = answer;
    render();
  }).catch((error) => {
    root.replaceChildren();
    showError(error);
  });
}
