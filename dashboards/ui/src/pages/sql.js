// SQL over the events table (analyst and up; the API runs it read-only with limits).

import { api } from '../api.js';
import { h, replace, table } from '../dom.js';
import { can, showError } from '../main.js';

const WHOLE_VALUE_FIELDS = new Set(['service', 'host', 'format', 'class', 'activity', 'outcome', 'http_method',
  'user', 'src_ip', 'dst_ip', 'trace_id', 'span_id', 'request_id', 'session_id', 'event_id']);
const NUMBER_FIELDS = new Set(['severity', 'src_port', 'dst_port', 'http_status']);

const literal = (text) => `'${text.replaceAll("'", "''")}'`;

/**
 * A SQL query for an event search: the time range, and the query's terms where they translate
 * plainly (`field:value`, bare words); anything else is kept as a comment to finish by hand.
 */
export function toSql(q, from, to) {
  const where = [];
  if (from) where.push(`time >= ${literal(from)}`);
  if (to) where.push(`time < ${literal(to)}`);
  let untranslated = '';
  const text = (q ?? '').trim();
  if (text) {
    const terms = text.split(/\s+/);
    const plain = terms.every((term) => /^([a-z_]+:)?[\w.@\-/]+$/i.test(term) && !/^(AND|OR|NOT)$/.test(term));
    if (plain) {
      for (const term of terms) {
        const [field, value] = term.includes(':') ? term.split(/:(.*)/s) : [null, term];
        if (field && WHOLE_VALUE_FIELDS.has(field)) where.push(`lower(${field}) = lower(${literal(value)})`);
        else if (field && NUMBER_FIELDS.has(field) && /^\d+$/.test(value)) where.push(`${field} = ${value}`);
        else if (field) where.push(`${field} ILIKE ${literal(`%${value}%`)}`);
        else where.push(`(message ILIKE ${literal(`%${term}%`)} OR raw ILIKE ${literal(`%${term}%`)})`);
      }
    } else {
      untranslated = `-- search: ${text.replace(/\n/g, ' ')}\n`;
    }
  }
  return `${untranslated}SELECT time, service, class, activity, outcome, user, src_ip, message\nFROM events\n${where.length ? `WHERE ${where.join('\n  AND ')}\n` : ''}ORDER BY time DESC\nLIMIT 100`;
}

export function sqlPage(main, params) {
  main.append(h('h1', {}, 'SQL'));
  if (!can('analyst')) {
    main.append(h('p', { 'data-testid': 'sql-forbidden' }, 'Running SQL needs the analyst role.'));
    return;
  }
  const input = h('textarea', {
    id: 'sql-input', 'data-testid': 'sql-input', rows: 8, spellcheck: 'false', class: 'code',
    value: params.q ?? 'SELECT service, count(*) AS events\nFROM events\nGROUP BY service\nORDER BY events DESC',
  });
  const result = h('div', { 'data-testid': 'sql-result', 'aria-live': 'polite' });
  const run = h('button', { type: 'submit', 'data-testid': 'sql-run' }, 'Run');
  main.append(h('form', {
    class: 'stack', onsubmit: async (event) => {
      event.preventDefault();
      run.disabled = true;
      try {
        const answer = await api('/api/v1/sql', { method: 'POST', body: { query: input.value } });
        showError(null);
        replace(result,
          h('p', { class: 'muted' }, `${answer.rows.length} row${answer.rows.length === 1 ? '' : 's'}`, answer.truncated ? ' (truncated)' : ''),
          table(answer.columns, answer.rows.map((row) => row.map(cellText)), { 'data-testid': 'sql-table' }));
      } catch (error) {
        showError(error);
      } finally {
        run.disabled = false;
      }
    },
  }, h('label', { for: 'sql-input' }, 'Query (read-only, table ', h('code', {}, 'events'), ')'), input, run), result);
}

function cellText(value) {
  if (value === null || value === undefined) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
