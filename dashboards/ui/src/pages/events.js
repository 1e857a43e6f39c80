// The event explorer: a query (the search API's syntax), a time range, the histogram of
// matches (uPlot), a page of results with expandable raw records, and the next page by cursor.

import uPlot from 'uplot';
import { api } from '../api.js';
import { formatTime, h, loading, query, replace } from '../dom.js';
import { can, showError } from '../main.js';
import { rawEvent } from './raw.js';
import { toSql } from './sql.js';

const RANGES = { '1h': 3600, '24h': 86400, '7d': 7 * 86400 };
const PAGE = 100;

/** The [from, to] RFC 3339 strings of a range choice. */
function rangeTimes(params) {
  if (params.range === 'custom') return [params.from || undefined, params.to || undefined];
  const seconds = RANGES[params.range] ?? RANGES['24h'];
  const to = new Date();
  return [new Date(to.getTime() - seconds * 1000).toISOString(), to.toISOString()];
}

// datetime-local values are read and shown in UTC here, as every time in weft is.
const toLocalInput = (iso) => (iso ? iso.slice(0, 16) : '');
const fromLocalInput = (value) => (value ? `${value}:00Z` : '');

export function eventsPage(main, params) {
  const state = { q: params.q ?? '', range: params.range ?? '24h', from: params.from ?? '', to: params.to ?? '' };
  const input = h('input', {
    id: 'event-search-input', 'data-testid': 'event-search-input', type: 'search', value: state.q,
    placeholder: 'user:alice AND message:"failed password"', spellcheck: 'false', class: 'grow',
  });
  const range = h('select', { id: 'event-range', 'data-testid': 'event-range' },
    h('option', { value: '1h' }, 'last 1 hour'), h('option', { value: '24h' }, 'last 24 hours'),
    h('option', { value: '7d' }, 'last 7 days'), h('option', { value: 'custom' }, 'custom (UTC)'));
  range.value = state.range;
  const from = h('input', { type: 'datetime-local', 'data-testid': 'event-from', value: toLocalInput(state.from), 'aria-label': 'From (UTC)' });
  const to = h('input', { type: 'datetime-local', 'data-testid': 'event-to', value: toLocalInput(state.to), 'aria-label': 'To (UTC)' });
  const custom = h('span', { class: 'custom-range', hidden: state.range !== 'custom' }, from, ' – ', to);
  range.addEventListener('change', () => { custom.hidden = range.value !== 'custom'; });

  const form = h('form', {
    class: 'filters', role: 'search', 'data-testid': 'event-search-form',
    onsubmit: (event) => {
      event.preventDefault();
      const next = { q: input.value.trim(), range: range.value };
      if (range.value === 'custom') Object.assign(next, { from: fromLocalInput(from.value), to: fromLocalInput(to.value) });
      const hash = `#/events${query(next)}`;
      if (location.hash === hash) eventsPage.reload?.();
      else location.hash = hash;
    },
  },
  h('label', { for: 'event-search-input', class: 'sr-only' }, 'Query'), input,
  h('label', { for: 'event-range', class: 'sr-only' }, 'Time range'), range, custom,
  h('button', { type: 'submit', 'data-testid': 'event-search-submit' }, 'Search'));

  const [fromTime, toTime] = rangeTimes(state);
  const summary = h('p', { class: 'muted', 'data-testid': 'event-total', 'aria-live': 'polite' });
  const chart = h('div', { class: 'histogram', 'data-testid': 'histogram', 'aria-label': 'Matches over time', role: 'img' });
  const body = h('tbody', { 'data-testid': 'event-rows' });
  const more = h('div', { class: 'pager' });
  const sqlLink = can('analyst')
    ? h('a', { href: `#/sql${query({ q: toSql(state.q, fromTime, toTime) })}`, 'data-testid': 'open-in-sql' }, 'Open in SQL')
    : null;

  main.append(
    h('div', { class: 'page-head' }, h('h1', {}, 'Events'), sqlLink),
    form, summary, chart,
    h('div', { class: 'table-wrap' }, h('table', { 'data-testid': 'event-table' },
      h('thead', {}, h('tr', {}, ['', 'Time', 'Service', 'Class', 'Outcome', 'User', 'Source IP', 'Message']
        .map((label) => h('th', { scope: 'col' }, label)))),
      body)),
    more);

  let plot = null;
  const search = { q: state.q || undefined, from: fromTime, to: toTime };
  const loadPage = async (cursor) => {
    try {
      const page = await api('/api/v1/events/search', { params: { ...search, limit: PAGE, cursor } });
      if (!cursor) body.replaceChildren();
      if (!cursor && page.events.length === 0) body.append(h('tr', {}, h('td', { colspan: 8, class: 'muted' }, 'No events match.')));
      for (const event of page.events) body.append(...rows(event));
      const shown = body.querySelectorAll('[data-testid="event-row"]').length;
      replace(summary, `${page.total} matching event${page.total === 1 ? '' : 's'}`, shown < page.total ? `, ${shown} shown` : '');
      replace(more, page.cursor ? h('button', {
        type: 'button', 'data-testid': 'event-next-page',
        onclick: (event) => { event.currentTarget.disabled = true; loadPage(page.cursor); },
      }, 'Next page') : null);
    } catch (error) {
      showError(error);
    }
  };
  const loadHistogram = async () => {
    try {
      const histogram = await api('/api/v1/events/histogram', { params: search });
      if (plot) plot.destroy();
      plot = drawHistogram(chart, histogram);
    } catch (error) {
      replace(chart, h('p', { class: 'muted' }, `No histogram: ${error.message}`));
    }
  };
  eventsPage.reload = () => { body.replaceChildren(loading()); loadPage(); loadHistogram(); };
  body.append(h('tr', {}, h('td', { colspan: 8 }, loading())));
  loadPage();
  loadHistogram();
  const resize = () => plot?.setSize({ width: chartWidth(chart), height: 140 });
  window.addEventListener('resize', resize);
  return () => {
    window.removeEventListener('resize', resize);
    plot?.destroy();
    eventsPage.reload = null;
  };
}

function chartWidth(chart) {
  return Math.max(280, chart.clientWidth || 900);
}

function drawHistogram(chart, histogram) {
  chart.replaceChildren();
  const buckets = histogram.buckets ?? [];
  if (buckets.length === 0) {
    chart.append(h('p', { class: 'muted' }, 'No events in this range.'));
    return null;
  }
  const xs = buckets.map((bucket) => new Date(bucket.start).getTime() / 1000);
  const ys = buckets.map((bucket) => bucket.count);
  chart.setAttribute('aria-label', `Matches per ${histogram.interval}: ${histogram.total} in all`);
  return new uPlot({
    width: chartWidth(chart),
    height: 140,
    legend: { show: false },
    cursor: { y: false },
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    scales: { x: { time: true } },
    axes: [{ stroke: '#555' }, { stroke: '#555', size: 50 }],
    series: [{}, {
      label: 'events', fill: 'rgba(31, 58, 95, 0.55)', stroke: '#1f3a5f', width: 1,
      paths: uPlot.paths.bars({ size: [0.9, 60] }), points: { show: false },
    }],
  }, [xs, ys], chart);
}

function rows(event) {
  const detail = h('tr', { class: 'detail', hidden: true, 'data-testid': 'event-detail' });
  const cell = h('td', { colspan: 8 });
  detail.append(cell);
  const toggle = h('button', {
    type: 'button', class: 'icon', 'aria-expanded': 'false', 'data-testid': 'event-expand',
    'aria-label': `Show the raw record of event ${event.event_id}`,
    onclick: async () => {
      const open = toggle.getAttribute('aria-expanded') === 'true';
      toggle.setAttribute('aria-expanded', String(!open));
      replace(toggle, open ? '▸' : '▾');
      detail.hidden = open;
      if (open || cell.childElementCount) return;
      cell.append(loading());
      try {
        const full = await api(`/api/v1/events/${encodeURIComponent(event.event_id)}`);
        replace(cell, rawEvent(full));
      } catch (error) {
        replace(cell, h('p', { class: 'muted' }, error.message));
      }
    },
  }, '▸');
  const row = h('tr', { 'data-testid': 'event-row', 'data-event-id': event.event_id },
    h('td', {}, toggle),
    h('td', { class: 'nowrap' }, formatTime(event.time)),
    h('td', {}, event.service ?? ''),
    h('td', {}, [event.class, event.activity].filter(Boolean).join(' · ')),
    h('td', {}, event.outcome ?? ''),
    h('td', {}, event.user ?? ''),
    h('td', {}, event.src_ip ?? ''),
    h('td', { class: 'message' }, event.message ?? ''));
  return [row, detail];
}
