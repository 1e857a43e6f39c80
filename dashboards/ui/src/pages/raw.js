// One stored event in full: its normalized columns and its raw record, byte for byte.

import { facts, formatTime, h } from '../dom.js';

const SKIP = new Set(['raw', 'attrs']);

export function rawEvent(event, onClose) {
  const columns = Object.entries(event)
    .filter(([key, value]) => !SKIP.has(key) && value !== null && value !== undefined)
    .map(([key, value]) => [key, key === 'time' || key === 'ingest_time' ? formatTime(value) : stringify(value)]);
  const attrs = event.attrs && typeof event.attrs === 'object' ? Object.entries(event.attrs) : [];
  return h('section', { class: 'raw-event', 'data-testid': 'event-raw', 'data-event-id': event.event_id },
    h('div', { class: 'page-head' },
      h('h3', { tabindex: -1 }, 'Event ', h('code', {}, event.event_id ?? '')),
      onClose ? h('button', { type: 'button', class: 'secondary', 'data-testid': 'event-raw-close', onclick: onClose }, 'Close') : null),
    facts(columns),
    h('h4', {}, 'Raw record'),
    h('pre', { 'data-testid': 'event-raw-text' }, event.raw ?? ''),
    attrs.length ? h('details', {}, h('summary', {}, `Original fields (${attrs.length})`),
      facts(attrs.map(([key, value]) => [key, stringify(value)]))) : null);
}

function stringify(value) {
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
