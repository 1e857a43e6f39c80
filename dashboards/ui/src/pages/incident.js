// One incident: summary, entities, ATT&CK, alerts, the cross-service timeline, the raw event
// of a clicked mark, and (analyst and up) status, assignment and comments.

import { api } from '../api.js';
import { age, facts, formatTime, h, loading, replace, severityBadge, statusBadge, table } from '../dom.js';
import { can, showError } from '../main.js';
import { renderTimeline } from './timeline.js';
import { rawEvent } from './raw.js';

export function incidentPage(main, id) {
  const root = h('div', { 'data-testid': 'incident-page', 'data-incident-id': id }, loading());
  main.append(root);
  let alive = true;
  const load = async () => {
    try {
      const [incident, timeline] = await Promise.all([
        api(`/api/v1/incidents/${encodeURIComponent(id)}`),
        api(`/api/v1/incidents/${encodeURIComponent(id)}/timeline`).catch((error) => ({ error })),
      ]);
      if (alive) render(root, incident, timeline, load);
    } catch (error) {
      if (!alive) return;
      replace(root, h('p', {}, h('a', { href: '#/incidents' }, '← Incidents')));
      showError(error);
    }
  };
  load();
  return () => {
    alive = false;
  };
}

function render(root, incident, timeline, reload) {
  const rawHolder = h('div', { 'data-testid': 'event-raw-holder' });
  const openEvent = async (eventId) => {
    replace(rawHolder, loading());
    try {
      const event = await api(`/api/v1/events/${encodeURIComponent(eventId)}`);
      replace(rawHolder, rawEvent(event, () => rawHolder.replaceChildren()));
      rawHolder.querySelector('h3')?.focus();
    } catch (error) {
      rawHolder.replaceChildren();
      showError(error);
    }
  };

  const timelineBox = h('section', { class: 'card', 'aria-labelledby': 'timeline-heading' },
    h('h2', { id: 'timeline-heading' }, 'Timeline'));
  if (timeline.error) {
    timelineBox.append(h('p', { class: 'muted' }, `The timeline could not be read: ${timeline.error.message}`));
  } else {
    const width = Math.min(Math.max(root.clientWidth - 40, 480), 1600);
    timelineBox.append(renderTimeline(timeline, { onOpen: openEvent, width }));
  }
  timelineBox.append(rawHolder);

  const entities = (incident.entity_counts ?? incident.entities ?? []).map((entity) => [
    entity.type,
    h('a', { href: `#/incidents?entity=${encodeURIComponent(`${entity.type}:${entity.value}`)}&status=open,acknowledged,closed` }, entity.value),
    entity.alert_count === undefined ? '' : String(entity.alert_count),
  ]);

  const alerts = (incident.alerts ?? []).map((stored) => {
    const alert = stored.alert ?? {};
    return [
      severityBadge(stored.severity),
      alert.title ?? '',
      alert.rule_name ?? '',
      formatTime(alert.window_start),
      formatTime(alert.window_end),
      String(alert.event_count ?? (alert.event_ids ?? []).length),
      (stored.services ?? []).join(', '),
    ];
  });

  replace(root,
    h('p', {}, h('a', { href: '#/incidents', 'data-testid': 'back-to-queue' }, '← Incidents')),
    h('div', { class: 'page-head' },
      h('h1', { 'data-testid': 'incident-title' }, incident.title),
      severityBadge(incident.severity), statusBadge(incident.status)),
    h('section', { class: 'card', 'data-testid': 'incident-summary' },
      facts([
        ['Id', h('code', {}, incident.id)],
        ['Assignee', incident.assignee ?? 'unassigned'],
        ['Services', (incident.services ?? []).join(', ')],
        ['Alerts', `${incident.alert_count ?? 0} from ${incident.rule_count ?? 0} rules`],
        ['First seen', formatTime(incident.first_seen)],
        ['Last seen', `${formatTime(incident.last_seen)} (${age(incident.last_seen)})`],
        ['Merged into', incident.merged_into ? h('a', { href: `#/incidents/${encodeURIComponent(incident.merged_into)}` }, incident.merged_into) : null],
      ])),
    can('analyst') ? actions(incident, reload) : null,
    h('div', { class: 'two' },
      h('section', { class: 'card', 'data-testid': 'incident-entities' },
        h('h2', {}, 'Entities'), table(['Type', 'Value', 'Alerts'], entities)),
      h('section', { class: 'card', 'data-testid': 'incident-attack' },
        h('h2', {}, 'ATT&CK'),
        facts([
          ['Tactics', chips(incident.tactics)],
          ['Techniques', chips(incident.techniques)],
        ]),
        (incident.tactics ?? []).length + (incident.techniques ?? []).length === 0 ? h('p', { class: 'muted' }, 'No attack.* tags.') : null)),
    timelineBox,
    h('section', { class: 'card', 'data-testid': 'incident-alerts' },
      h('h2', {}, 'Alerts'),
      table(['Severity', 'Title', 'Rule', 'Window start', 'Window end', 'Events', 'Services'], alerts)),
    h('section', { class: 'card', 'data-testid': 'incident-comments' },
      h('h2', {}, 'Comments'),
      (incident.comments ?? []).length === 0 ? h('p', { class: 'muted' }, 'No comments yet.') : null,
      h('ul', { class: 'comments' }, (incident.comments ?? []).map((comment) => h('li', { 'data-testid': 'comment' },
        h('div', { class: 'muted' }, `${comment.author} · ${formatTime(comment.time)}`),
        h('div', { class: 'comment-text' }, comment.text))))),
    h('section', { class: 'card', 'data-testid': 'incident-history' },
      h('h2', {}, 'History'),
      table(['Time', 'Who', 'What', 'From', 'To', 'Note'], (incident.history ?? []).map((change) => [
        formatTime(change.time), change.actor, change.activity, change.from ?? '', change.to ?? '', change.note ?? '',
      ]))));
}

function chips(values) {
  return (values ?? []).map((value) => h('span', { class: 'chip' }, value));
}

function actions(incident, reload) {
  const path = `/api/v1/incidents/${encodeURIComponent(incident.id)}`;
  const merged = incident.status === 'merged';
  const submit = (call) => async (event) => {
    event.preventDefault();
    const buttons = event.currentTarget.querySelectorAll('button');
    buttons.forEach((button) => { button.disabled = true; });
    try {
      await call();
      showError(null);
      await reload();
    } catch (error) {
      showError(error);
      buttons.forEach((button) => { button.disabled = false; });
    }
  };

  const status = h('select', { id: 'status-select', 'data-testid': 'status-select', disabled: merged },
    ['open', 'acknowledged', 'closed'].map((value) => h('option', { value }, value)));
  status.value = merged ? 'closed' : incident.status;
  const note = h('input', { id: 'status-note', 'data-testid': 'status-note', placeholder: 'why (optional)', disabled: merged });
  const assignee = h('input', { id: 'assign-input', 'data-testid': 'assign-input', value: incident.assignee ?? '', placeholder: 'analyst name; empty to unassign', disabled: merged });
  const comment = h('textarea', { id: 'comment-input', 'data-testid': 'comment-input', rows: 3, required: true, disabled: merged });

  return h('section', { class: 'card actions', 'data-testid': 'incident-actions' },
    h('h2', {}, 'Actions'),
    merged ? h('p', { class: 'muted' }, 'This incident was merged; change the one it was merged into.') : null,
    h('form', {
      class: 'inline', onsubmit: submit(() => api(`${path}/status`, {
        method: 'POST', body: note.value.trim() ? { status: status.value, note: note.value.trim() } : { status: status.value },
      })),
    }, h('label', { for: 'status-select' }, 'Status'), status, note,
    h('button', { type: 'submit', 'data-testid': 'status-submit', disabled: merged }, 'Set status')),
    h('form', {
      class: 'inline', onsubmit: submit(() => api(`${path}/assign`, {
        method: 'POST', body: { assignee: assignee.value.trim() || null },
      })),
    }, h('label', { for: 'assign-input' }, 'Assignee'), assignee,
    h('button', { type: 'submit', 'data-testid': 'assign-submit', disabled: merged }, 'Assign')),
    h('form', {
      class: 'stack', onsubmit: submit(() => api(`${path}/comments`, {
        method: 'POST', body: { text: comment.value },
      })),
    }, h('label', { for: 'comment-input' }, 'Comment'), comment,
    h('button', { type: 'submit', 'data-testid': 'comment-submit', disabled: merged }, 'Add comment')));
}
