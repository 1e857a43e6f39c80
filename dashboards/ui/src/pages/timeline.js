// The cross-service timeline as SVG: one lane per service, each evidence event a mark at its
// event time, and each alert a coloured line through its events (crossing lanes where the
// alert joins services). Hover or focus a mark for the event; Enter or click opens it raw.

import { formatTime, h, replace, s, toDate } from '../dom.js';

const LABEL = 130;
const LANE = 44;
const AXIS = 28;
const PAD = 16;
const PALETTE = ['#d1495b', '#00798c', '#edae49', '#66a182', '#8d5a97', '#30638e', '#e07a5f', '#3d405b'];

export function alertColour(index) {
  return PALETTE[index % PALETTE.length];
}

/** Renders `timeline` (the API's answer) into a new element; `onOpen(eventId)` opens an event. */
export function renderTimeline(timeline, { onOpen, width: requested }) {
  const services = timeline.services ?? [];
  const events = (timeline.events ?? []).filter((event) => toDate(event.time));
  const alerts = timeline.alerts ?? [];
  const wrap = h('div', { class: 'timeline', 'data-testid': 'timeline' });
  if (events.length === 0) {
    wrap.append(h('p', { class: 'muted' }, 'No evidence events are stored for this incident.'));
    return wrap;
  }
  const alertIndex = new Map(alerts.map((alert, index) => [alert.alert_id, index]));
  const times = events.map((event) => toDate(event.time).getTime());
  let start = Math.min(...times);
  let end = Math.max(...times);
  if (end - start < 1000) {
    start -= 30_000;
    end += 30_000;
  }
  const span = end - start;
  start -= span * 0.03;
  end += span * 0.03;
  const width = Math.max(480, requested || 960);
  const plot = width - LABEL - PAD;
  const height = AXIS + services.length * LANE + PAD;
  const x = (time) => LABEL + ((time - start) / (end - start)) * plot;
  const laneOf = new Map(services.map((service, index) => [service, index]));
  const y = (service) => AXIS + (laneOf.get(service) ?? 0) * LANE + LANE / 2;

  const svg = s('svg', {
    viewBox: `0 0 ${width} ${height}`, width, height, role: 'group',
    'aria-label': `Timeline of ${events.length} events across ${services.length} services`,
  });
  // Axis and lanes.
  const axis = s('g', { class: 'tl-axis', 'aria-hidden': 'true' });
  const scale = ticks(start, end, Math.max(2, Math.floor(plot / 140)));
  for (const tick of scale.list) {
    const at = x(tick);
    axis.append(s('line', { x1: at, x2: at, y1: AXIS - 6, y2: height - PAD, class: 'tl-grid' }),
      s('text', { x: at, y: AXIS - 10, 'text-anchor': 'middle' }, tickLabel(tick, scale.step)));
  }
  svg.append(axis);
  services.forEach((service, index) => {
    const top = AXIS + index * LANE;
    svg.append(s('g', { class: 'tl-lane', 'data-testid': 'timeline-lane', 'data-service': service },
      s('rect', { x: 0, y: top, width, height: LANE, class: index % 2 ? 'tl-band odd' : 'tl-band' }),
      s('text', { x: 8, y: top + LANE / 2 + 4, class: 'tl-label' }, truncate(service, 16)),
      s('title', {}, service)));
  });
  // Alert links: a line through each alert's events in time order.
  const byId = new Map(events.map((event) => [event.event_id, event]));
  alerts.forEach((alert, index) => {
    const points = (alert.event_ids ?? []).map((id) => byId.get(id)).filter(Boolean)
      .sort((a, b) => toDate(a.time) - toDate(b.time))
      .map((event) => `${x(toDate(event.time).getTime()).toFixed(1)},${y(event.service)}`);
    if (points.length < 2) return;
    svg.append(s('polyline', {
      points: points.join(' '), class: 'tl-link', stroke: alertColour(index),
      'data-testid': 'timeline-link', 'data-alert-id': alert.alert_id,
    }));
  });
  // Marks.
  const tip = h('div', { class: 'tl-tip', role: 'tooltip', id: 'timeline-tip', 'data-testid': 'timeline-tip', hidden: true });
  const show = (event, mark) => {
    replace(tip,
      h('strong', {}, formatTime(event.time)), ' ', event.service,
      h('br'), [event.class, event.activity, event.outcome].filter(Boolean).join(' · '),
      event.user ? [h('br'), 'user: ', event.user] : null,
      event.src_ip ? [h('br'), 'src_ip: ', event.src_ip] : null,
      event.message ? [h('br'), h('span', { class: 'tl-msg' }, truncate(event.message, 240))] : null);
    tip.hidden = false;
    const box = mark.getBoundingClientRect();
    const host = wrap.getBoundingClientRect();
    const left = Math.min(Math.max(0, box.left - host.left + wrap.scrollLeft - 20), Math.max(0, wrap.scrollWidth - 320));
    tip.style.left = `${left}px`;
    tip.style.top = `${box.bottom - host.top + 6}px`;
  };
  const hide = () => {
    tip.hidden = true;
  };
  for (const event of events) {
    const ids = event.alerts ?? [];
    const colour = ids.length ? alertColour(alertIndex.get(ids[0]) ?? 0) : '#777';
    const label = `${formatTime(event.time)} ${event.service}${event.user ? ` user ${event.user}` : ''}${event.src_ip ? ` from ${event.src_ip}` : ''}: ${event.message ?? event.activity ?? ''}`;
    const mark = s('g', {
      class: 'tl-event', tabindex: 0, role: 'button', 'aria-label': label, 'aria-describedby': 'timeline-tip',
      'data-testid': 'timeline-event', 'data-event-id': event.event_id, 'data-service': event.service,
      'data-alert-ids': ids.join(' '),
    }, s('circle', {
      cx: x(toDate(event.time).getTime()).toFixed(1), cy: y(event.service), r: 6, fill: colour,
      class: ids.length > 1 ? 'multi' : null,
    }));
    mark.addEventListener('mouseenter', () => show(event, mark));
    mark.addEventListener('mouseleave', hide);
    mark.addEventListener('focus', () => show(event, mark));
    mark.addEventListener('blur', hide);
    mark.addEventListener('click', () => onOpen(event.event_id));
    mark.addEventListener('keydown', (key) => {
      if (key.key === 'Enter' || key.key === ' ') {
        key.preventDefault();
        onOpen(event.event_id);
      } else if (key.key === 'Escape') {
        hide();
      }
    });
    svg.append(mark);
  }
  wrap.append(svg, tip);
  const legend = h('ul', { class: 'tl-legend', 'data-testid': 'timeline-legend' },
    alerts.map((alert, index) => h('li', { 'data-alert-id': alert.alert_id },
      h('span', { class: `swatch c${index % PALETTE.length}`, 'aria-hidden': 'true' }),
      `${alert.title} (${alert.severity}, ${(alert.event_ids ?? []).length} events)`)));
  const note = timeline.not_shown ? h('p', { class: 'muted', 'data-testid': 'timeline-not-shown' },
    `${timeline.not_shown} more evidence events are not shown (beyond the cap or no longer stored).`) : null;
  return h('div', {}, wrap, legend, note);
}

/** Round tick times (ms) between start and end, about `count` of them, and their step. */
function ticks(start, end, count) {
  const steps = [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 10800, 21600, 43200, 86400, 604800].map((sec) => sec * 1000);
  const step = steps.find((candidate) => (end - start) / candidate <= count) ?? steps[steps.length - 1];
  const out = [];
  for (let tick = Math.ceil(start / step) * step; tick <= end; tick += step) out.push(tick);
  return { step, list: out };
}

/** A tick's label, as precise as the step between ticks (so no two labels read the same). */
function tickLabel(tick, step) {
  const iso = new Date(tick).toISOString();
  if (step >= 86400_000) return iso.slice(5, 16).replace('T', ' ');
  return iso.slice(11, step < 60_000 ? 19 : 16);
}

function truncate(text, length) {
  const value = String(text ?? '');
  return value.length > length ? `${value.slice(0, length - 1)}…` : value;
}
