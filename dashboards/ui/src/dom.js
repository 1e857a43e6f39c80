// DOM helpers. Text from the API only ever reaches the page as text nodes or attribute values
// set through the DOM: never through innerHTML.

/** Builds an element: h('a', {href: '#/x', 'data-testid': 'y', onclick: fn}, 'text', child). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';

/** Builds an SVG element. */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'class') {
      el.setAttribute('class', value);
    } else if (key === 'value' && 'value' in el) {
      el.value = value;
    } else if (key === 'checked' || key === 'selected' || key === 'disabled') {
      el[key] = Boolean(value);
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replaces an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** `2026-11-23 09:00:03` (UTC) from an RFC 3339 string or microseconds. */
export function formatTime(value) {
  const date = toDate(value);
  if (!date) return '';
  return date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z').replace('Z', '');
}

export function toDate(value) {
  if (value === undefined || value === null || value === '') return null;
  const date = typeof value === 'number' ? new Date(value / 1000) : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** `5m ago`, `3h ago`, `2d ago`. */
export function age(value, now = Date.now()) {
  const date = toDate(value);
  if (!date) return '';
  const seconds = Math.max(0, Math.round((now - date.getTime()) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86400)}d ago`;
}

export const SEVERITIES = ['informational', 'low', 'medium', 'high', 'critical'];

export function severityBadge(severity) {
  const known = SEVERITIES.includes(severity) ? severity : 'unknown';
  return h('span', { class: `badge sev-${known}`, 'data-testid': 'severity' }, severity ?? '');
}

export function statusBadge(status) {
  return h('span', { class: `badge status-${String(status).replace(/[^a-z]/g, '')}`, 'data-testid': 'status' }, status ?? '');
}

/** A table with a header row; `rows` are arrays of cells (nodes or text). */
export function table(headers, rows, attrs = {}) {
  return h('div', { class: 'table-wrap' },
    h('table', attrs,
      h('thead', {}, h('tr', {}, headers.map((header) => h('th', { scope: 'col' }, header)))),
      h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((cell) => h('td', {}, cell)))))));
}

/** A two-column description list of [label, value] pairs. */
export function facts(pairs, attrs = {}) {
  return h('dl', { class: 'facts', ...attrs },
    pairs.filter(([, value]) => value !== undefined && value !== null && value !== '')
      .map(([label, value]) => [h('dt', {}, label), h('dd', {}, value)]));
}

export function loading() {
  return h('p', { class: 'muted', 'data-testid': 'loading' }, 'Loading…');
}

/** Encodes a query object for a hash route, leaving out empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/**
 * A small bar chart of counts as inline SVG (no inline styles: sizes are SVG attributes, colours
 * come from app.css). `label` names it for screen readers; `title` (a function of the bar
 * index) gives each bar a tooltip. The SVG scales to its container's width.
 */
export function bars(counts, { width = 120, height = 24, label = '', title, testid = 'sparkline', className = 'spark' } = {}) {
  const values = counts.map((count) => Number(count) || 0);
  const max = Math.max(1, ...values);
  const step = width / Math.max(1, values.length);
  const gap = step > 3 ? 1 : 0;
  const svg = s('svg', {
    class: className, viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'none',
    role: 'img', 'aria-label': label, 'data-testid': testid, 'data-total': values.reduce((a, b) => a + b, 0),
  });
  svg.append(s('line', { class: 'spark-base', x1: 0, x2: width, y1: height - 0.5, y2: height - 0.5 }));
  values.forEach((value, index) => {
    if (value === 0) return;
    const barHeight = Math.max(1.5, (value / max) * (height - 1));
    svg.append(s('rect', {
      class: 'spark-bar', x: (index * step).toFixed(2), y: (height - barHeight).toFixed(2),
      width: Math.max(0.5, step - gap).toFixed(2), height: barHeight.toFixed(2),
    }, title ? s('title', {}, title(index, value)) : null));
  });
  return svg;
}

/** `12.3/s`, `0.05/s`, `0/s`. */
export function perSecond(value) {
  const number = Number(value) || 0;
  if (number === 0) return '0/s';
  if (number >= 100) return `${Math.round(number).toLocaleString('en-US')}/s`;
  if (number >= 1) return `${number.toFixed(1)}/s`;
  return `${number.toFixed(number >= 0.01 ? 2 : 4)}/s`;
}
