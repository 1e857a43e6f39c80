// The incident queue: filters in the hash (so a filtered view can be linked and reloaded), a
// table of incidents, refreshed every 10 s.

import { api } from '../api.js';
import { SEVERITIES, age, formatTime, h, query, replace, severityBadge, statusBadge } from '../dom.js';
import { showError } from '../main.js';

const REFRESH_MS = 10_000;
const PAGE = 50;
const STATUSES = ['open', 'acknowledged', 'closed', 'merged'];

export function incidentsPage(main, params) {
  const filters = {
    status: params.status ?? 'open,acknowledged',
    min_severity: params.min_severity ?? '',
    assignee: params.assignee ?? '',
    entity: params.entity ?? '',
    q: params.q ?? '',
    sort: params.sort ?? 'severity',
    order: params.order ?? 'desc',
    offset: Number(params.offset ?? 0) || 0,
  };

  const field = (label, control) => h('label', { class: 'field' }, h('span', {}, label), control);
  const status = h('select', { name: 'status', 'data-testid': 'filter-status' },
    h('option', { value: 'open,acknowledged' }, 'open + acknowledged'),
    STATUSES.map((value) => h('option', { value }, value)),
    h('option', { value: 'open,acknowledged,closed,merged' }, 'any'));
  status.value = filters.status;
  const severity = h('select', { name: 'min_severity', 'data-testid': 'filter-severity' },
    h('option', { value: '' }, 'any'), SEVERITIES.map((value) => h('option', { value }, `≥ ${value}`)));
  severity.value = filters.min_severity;
  const assignee = h('input', { name: 'assignee', value: filters.assignee, 'data-testid': 'filter-assignee', placeholder: 'dana' });
  const entity = h('input', { name: 'entity', value: filters.entity, 'data-testid': 'filter-entity', placeholder: 'user:alice' });
  const text = h('input', { name: 'q', type: 'search', value: filters.q, 'data-testid': 'filter-q', placeholder: 'rule:spray technique:t1110' });
  const sort = h('select', { name: 'sort', 'data-testid': 'sort' },
    ['severity', 'last_seen', 'created'].map((value) => h('option', { value }, value.replace('_', ' '))));
  sort.value = filters.sort;
  const order = h('select', { name: 'order', 'data-testid': 'order' },
    h('option', { value: 'desc' }, 'descending'), h('option', { value: 'asc' }, 'ascending'));
  order.value = filters.order;

  const form = h('form', {
    class: 'filters', 'data-testid': 'incident-filters', role: 'search',
    onsubmit: (event) => {
      event.preventDefault();
      location.hash = `#/incidents${query({
        status: status.value, min_severity: severity.value, assignee: assignee.value.trim(),
        entity: entity.value.trim(), q: text.value.trim(), sort: sort.value, order: order.value,
      })}`;
    },
  },
  field('Status', status), field('Min severity', severity), field('Assignee', assignee),
  field('Entity (type:value)', entity), field('Search', text), field('Sort', sort), field('Order', order),
  h('button', { type: 'submit', 'data-testid': 'apply-filters' }, 'Apply'));

  const count = h('p', { class: 'muted', 'data-testid': 'incident-total', 'aria-live': 'polite' });
  const counts = h('div', { class: 'counts', 'data-testid': 'incident-counts' });
  const body = h('tbody', { 'data-testid': 'incident-rows' });
  const pager = h('div', { class: 'pager' });
  const updated = h('span', { class: 'muted', 'data-testid': 'refreshed' });

  main.append(
    h('div', { class: 'page-head' }, h('h1', {}, 'Incidents'), updated),
    form, counts, count,
    h('div', { class: 'table-wrap' }, h('table', { 'data-testid': 'incident-table' },
      h('thead', {}, h('tr', {}, ['Severity', 'Status', 'Title', 'Entities', 'Services', 'Alerts', 'Last seen', 'Assignee']
        .map((label) => h('th', { scope: 'col' }, label)))),
      body)),
    pager);

  const apiParams = () => {
    const params = {
      status: filters.status.split(',').filter(Boolean),
      min_severity: filters.min_severity,
      assignee: filters.assignee,
      q: filters.q,
      sort: filters.sort,
      order: filters.order,
      limit: PAGE,
      offset: filters.offset,
    };
    const split = filters.entity.indexOf(':');
    if (split > 0) {
      params.entity_type = filters.entity.slice(0, split);
      params.entity_value = filters.entity.slice(split + 1);
    } else if (filters.entity) {
      params.q = [filters.q, `entity:${JSON.stringify(filters.entity)}`].filter(Boolean).join(' ');
    }
    return params;
  };

  let inFlight = false;
  const load = async () => {
    if (inFlight) return;
    inFlight = true;
    try {
      const params = apiParams();
      const [page, tally] = await Promise.all([
        api('/api/v1/incidents', { params }),
        api('/api/v1/incidents/counts', { params: { ...params, status: undefined, sort: undefined, order: undefined, limit: undefined, offset: undefined } }),
      ]);
      render(page);
      renderCounts(tally);
      replace(updated, `updated ${formatTime(new Date().toISOString())} UTC · refreshes every 10 s`);
    } catch (error) {
      showError(error);
    } finally {
      inFlight = false;
    }
  };

  // Per status (links that filter the queue by it) and per severity, under the other filters.
  const renderCounts = ({ by_status: byStatus = {}, by_severity: bySeverity = {} }) => {
    const statusLink = (value) => h('a', {
      class: `count status-${value}`, 'data-testid': 'count-status', 'data-status': value,
      'aria-current': filters.status === value ? 'true' : null,
      href: `#/incidents${query({ ...filters, status: value, offset: '' })}`,
    }, `${value} `, h('strong', {}, String(byStatus[value] ?? 0)));
    replace(counts,
      h('span', { class: 'counts-group', 'aria-label': 'Incidents per status' }, ['open', 'acknowledged', 'closed'].map(statusLink)),
      h('span', { class: 'counts-group', 'aria-label': 'Incidents per severity' },
        [...SEVERITIES].reverse().filter((value) => bySeverity[value]).map((value) => h('span', {
          class: 'count', 'data-testid': 'count-severity', 'data-severity': value,
        }, h('span', { class: `badge sev-${value}` }, value), ' ', h('strong', {}, String(bySeverity[value]))))));
  };

  const render = ({ incidents = [], total = 0 }) => {
    replace(count, `${total} incident${total === 1 ? '' : 's'}`,
      total > incidents.length ? ` (showing ${filters.offset + 1}–${filters.offset + incidents.length})` : '');
    replace(body, incidents.length === 0
      ? h('tr', {}, h('td', { colspan: 8, class: 'muted' }, 'No incidents match.'))
      : incidents.map(row));
    const link = (label, offset, testid) => h('a', {
      class: 'button', 'data-testid': testid,
      href: `#/incidents${query({ ...filters, offset: offset || '' })}`,
    }, label);
    replace(pager,
      filters.offset > 0 ? link('← Previous', Math.max(0, filters.offset - PAGE), 'incidents-prev') : null,
      filters.offset + incidents.length < total ? link('Next →', filters.offset + PAGE, 'incidents-next') : null);
  };

  load();
  const timer = setInterval(() => {
    if (document.visibilityState === 'visible') load();
  }, REFRESH_MS);
  return () => clearInterval(timer);
}

function row(incident) {
  const entities = incident.entities ?? [];
  const shown = entities.slice(0, 3).map((entity) => h('span', { class: 'chip' }, `${entity.type}:${entity.value}`));
  const more = entities.length > 3 ? h('span', { class: 'muted' }, ` +${entities.length - 3}`) : null;
  return h('tr', { 'data-testid': 'incident-row', 'data-incident-id': incident.id },
    h('td', {}, severityBadge(incident.severity)),
    h('td', {}, statusBadge(incident.status)),
    h('td', {}, h('a', { href: `#/incidents/${encodeURIComponent(incident.id)}`, 'data-testid': 'incident-link' }, incident.title)),
    h('td', {}, shown, more),
    h('td', {}, (incident.services ?? []).join(', ')),
    h('td', { class: 'num' }, String(incident.alert_count ?? 0)),
    h('td', {}, h('time', { datetime: incident.last_seen, title: formatTime(incident.last_seen) }, age(incident.last_seen))),
    h('td', {}, incident.assignee ?? h('span', { class: 'muted' }, '—')));
}
