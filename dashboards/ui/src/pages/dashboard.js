// Dashboards: the list of definitions (shipped and the users' own files), and one dashboard
// drawn panel by panel. Each panel asks the API for its answer over the page's time range
// (`GET /api/v1/dashboards/{id}/panels/{panel}`) and draws it as a number, lines over time
// (uPlot), bars or a table. A panel that fails says why inside its own box.

import uPlot from 'uplot';
import { api } from '../api.js';
import { formatTime, h, loading, query, replace, s, table } from '../dom.js';
import { showError } from '../main.js';

const RANGES = [['1h', 3600], ['6h', 6 * 3600], ['24h', 86400], ['7d', 7 * 86400], ['30d', 30 * 86400]];
const PALETTE = ['#1f3a5f', '#d1495b', '#2e8b57', '#edae49', '#6a4c93', '#00798c', '#b5651d', '#8a939e', '#c2185b', '#3d5a80'];
const number = (value) => (typeof value === 'number' ? value.toLocaleString('en-US', { maximumFractionDigits: 2 }) : String(value ?? ''));

export function dashboardsPage(main) {
  const root = h('div', { 'data-testid': 'dashboards-page' }, loading());
  main.append(h('h1', {}, 'Dashboards'), root);
  api('/api/v1/dashboards').then(({ dashboards = [], refused = [] }) => {
    replace(root,
      h('ul', { class: 'dash-list', 'data-testid': 'dashboard-list' }, dashboards.map((dashboard) => h('li', { class: 'card' },
        h('a', { href: `#/dashboards/${encodeURIComponent(dashboard.id)}`, 'data-testid': 'dashboard-link', 'data-dashboard-id': dashboard.id },
          dashboard.title),
        dashboard.description ? h('p', { class: 'muted' }, dashboard.description) : null,
        h('p', { class: 'muted small' }, `${dashboard.panels} panels · last ${dashboard.range} · `,
          dashboard.source === 'builtin' ? 'ships with weft' : `from ${dashboard.source}`)))),
      h('p', { class: 'muted small' }, 'Add your own: a JSON file per dashboard in the data directory\'s dashboards/ folder (see the dashboards documentation).'),
      refused.length ? [h('h2', {}, 'Refused files'),
        table(['File', 'Reason'], refused.map((item) => [item.file, item.reason]), { 'data-testid': 'dashboards-refused' })] : null);
  }).catch((error) => {
    root.replaceChildren();
    showError(error);
  });
}

export function dashboardPage(main, id, params) {
  const page = h('div', { 'data-testid': 'dashboard-page', 'data-dashboard-id': id }, loading());
  main.append(page);
  let timer = null;
  const plots = [];
  const destroyPlots = () => {
    for (const plot of plots) plot.destroy();
    plots.length = 0;
  };
  const resize = () => {
    for (const plot of plots) plot.fit();
  };
  window.addEventListener('resize', resize);

  api(`/api/v1/dashboards/${encodeURIComponent(id)}`).then((dashboard) => {
    const range = params.range || dashboard.range;
    const rangeSelect = h('select', {
      id: 'dashboard-range', 'data-testid': 'dashboard-range', 'aria-label': 'Time range',
      onchange: () => { location.hash = `#/dashboards/${encodeURIComponent(id)}${query({ range: rangeSelect.value })}`; },
    }, rangeOptions(dashboard.range).map(([value]) => h('option', { value, selected: value === range }, `Last ${value}`)));
    const grid = h('div', { class: 'panels', 'data-testid': 'panels' });
    const refreshed = h('span', { class: 'muted small', 'data-testid': 'dashboard-refreshed' });
    const load = () => {
      destroyPlots();
      const seconds = rangeSeconds(range) ?? 86400;
      const to = new Date();
      const from = new Date(to.getTime() - seconds * 1000);
      grid.replaceChildren(...dashboard.panels.map((panel) => panelBox(id, panel, from, to, plots)));
      replace(refreshed, `Updated ${formatTime(to.toISOString())} UTC`);
    };
    replace(page,
      h('div', { class: 'page-head' },
        h('h1', { 'data-testid': 'dashboard-title' }, dashboard.title),
        h('label', { class: 'field' }, 'Range', rangeSelect),
        h('button', { type: 'button', class: 'secondary', 'data-testid': 'dashboard-refresh', onclick: load }, 'Refresh'),
        h('a', { href: '#/dashboards', 'data-testid': 'back-to-dashboards' }, 'All dashboards')),
      dashboard.description ? h('p', { class: 'muted' }, dashboard.description) : null,
      refreshed,
      grid);
    load();
    if (dashboard.refresh_seconds) timer = setInterval(load, dashboard.refresh_seconds * 1000);
  }).catch((error) => {
    page.replaceChildren(h('p', {}, h('a', { href: '#/dashboards' }, 'All dashboards')));
    showError(error);
  });

  return () => {
    if (timer) clearInterval(timer);
    window.removeEventListener('resize', resize);
    destroyPlots();
  };
}

function rangeOptions(own) {
  const known = RANGES.map(([value]) => value);
  return known.includes(own) ? RANGES : [[own, rangeSeconds(own)], ...RANGES];
}

function rangeSeconds(text) {
  const match = /^(\d+)([smhd])$/.exec(String(text ?? '').trim());
  if (!match) return null;
  return Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[match[2]];
}

function panelBox(dashboardId, panel, from, to, plots) {
  const body = h('div', { class: 'panel-body' }, loading());
  const box = h('section', {
    class: `card panel${panel.width === 'full' ? ' full' : ''}`, 'data-testid': 'panel',
    'data-panel-id': panel.id, 'data-state': 'loading', 'aria-labelledby': `panel-${panel.id}`,
  },
  h('h2', { id: `panel-${panel.id}`, 'data-testid': 'panel-title' }, panel.title),
  panel.description ? h('p', { class: 'muted small' }, panel.description) : null,
  body);
  const path = `/api/v1/dashboards/${encodeURIComponent(dashboardId)}/panels/${encodeURIComponent(panel.id)}`;
  api(path, { params: { from: from.toISOString(), to: to.toISOString() } }).then((answer) => {
    body.replaceChildren();
    const plot = draw(body, answer);
    if (plot) plots.push(plot);
    if (answer.truncated) body.append(h('p', { class: 'note small' }, 'More rows matched than are shown.'));
    box.setAttribute('data-state', 'ready');
  }).catch((error) => {
    replace(body, h('p', { class: 'panel-error', 'data-testid': 'panel-error', role: 'status' }, error.message));
    box.setAttribute('data-state', 'error');
  });
  return box;
}

function draw(body, answer) {
  const { visualization: vis, columns, rows } = answer;
  if (vis.type !== 'stat' && rows.length === 0) {
    body.append(h('p', { class: 'muted', 'data-testid': 'panel-empty' }, 'Nothing in this range.'));
    return null;
  }
  const column = (name) => columns.indexOf(name);
  switch (vis.type) {
    case 'stat': {
      const index = vis.value ? column(vis.value) : columns.length - 1;
      const value = rows.length ? rows[0][index] : 0;
      body.append(h('p', { class: 'stat', 'data-testid': 'panel-stat' }, number(value), vis.unit ? h('span', { class: 'unit' }, ` ${vis.unit}`) : null));
      return null;
    }
    case 'bar':
      body.append(bars(rows.map((row) => [row[column(vis.x)], Number(row[column(vis.y)]) || 0]), vis.y));
      return null;
    case 'timeseries':
      return lines(body, answer);
    default:
      body.append(table(columns, rows.map((row) => row.map(cellText)), { 'data-testid': 'panel-table' }));
      return null;
  }
}

function cellText(cell) {
  if (cell === null || cell === undefined) return '';
  if (typeof cell === 'object') return JSON.stringify(cell);
  return number(cell);
}

/** Horizontal bars, largest value full width; SVG attributes only (the CSP allows no inline style). */
function bars(items, label) {
  const max = Math.max(1, ...items.map(([, value]) => value));
  return h('ul', { class: 'bars', 'data-testid': 'panel-bars', 'aria-label': label },
    items.map(([name, value]) => h('li', { 'data-testid': 'panel-bar' },
      h('span', { class: 'bar-label', title: String(name ?? '') }, String(name ?? '(none)')),
      s('svg', { class: 'bar', width: '100%', height: '14', 'aria-hidden': 'true' },
        s('rect', { x: '0', y: '1', height: '12', rx: '2', width: `${Math.max(0.5, (value / max) * 100)}%` })),
      h('span', { class: 'bar-value' }, number(value)))));
}

/** Lines over time: one per value of `series`, or one per `y` column; a bucket without a row is drawn at 0. */
function lines(body, answer) {
  const { visualization: vis, columns, rows } = answer;
  const x = columns.indexOf(vis.x);
  const ys = Array.isArray(vis.y) ? vis.y : [vis.y];
  const seconds = (value) => new Date(value).getTime() / 1000;
  const times = [...new Set(rows.map((row) => seconds(row[x])).filter((t) => Number.isFinite(t)))].sort((a, b) => a - b);
  const slot = new Map(times.map((t, i) => [t, i]));
  let names;
  let data;
  if (vis.series) {
    const seriesColumn = columns.indexOf(vis.series);
    const y = columns.indexOf(ys[0]);
    names = [...new Set(rows.map((row) => String(row[seriesColumn] ?? '(none)')))].sort();
    const index = new Map(names.map((name, i) => [name, i]));
    data = names.map(() => times.map(() => 0));
    for (const row of rows) {
      const at = slot.get(seconds(row[x]));
      if (at !== undefined) data[index.get(String(row[seriesColumn] ?? '(none)'))][at] += Number(row[y]) || 0;
    }
  } else {
    names = ys;
    data = ys.map((name) => {
      const y = columns.indexOf(name);
      const values = times.map(() => 0);
      for (const row of rows) {
        const at = slot.get(seconds(row[x]));
        if (at !== undefined) values[at] = Number(row[y]) || 0;
      }
      return values;
    });
  }
  const chart = h('div', { class: 'panel-chart', 'data-testid': 'panel-chart', role: 'img',
    'aria-label': `${names.length} series over ${times.length} buckets of ${answer.bucket}` });
  body.append(chart);
  const width = () => Math.max(260, chart.clientWidth || body.clientWidth || 600);
  const plot = new uPlot({
    width: width(),
    height: 180,
    legend: { show: names.length > 1 },
    cursor: { y: false },
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    scales: { x: { time: true, range: [seconds(answer.from), seconds(answer.to)] } },
    axes: [{ stroke: '#555' }, { stroke: '#555', size: 50 }],
    series: [{}, ...names.map((name, i) => ({
      label: name, stroke: PALETTE[i % PALETTE.length], width: 1.5, points: { show: times.length < 3 },
    }))],
  }, [times, ...data], chart);
  plot.fit = () => plot.setSize({ width: width(), height: 180 });
  return plot;
}
