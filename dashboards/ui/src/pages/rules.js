// The rule catalogue: every rule the detector loads, and the documents it refused.

import { api } from '../api.js';
import { h, loading, replace, table } from '../dom.js';
import { showError } from '../main.js';

export function rulesPage(main) {
  const root = h('div', { 'data-testid': 'rules-page' }, loading());
  main.append(h('h1', {}, 'Rules'), root);
  api('/api/v1/rules').then(({ rules = [], refused = [] }) => {
    const rows = rules.map((rule) => [
      h('span', { title: rule.id }, rule.title ?? rule.id),
      rule.kind ?? '',
      rule.level ?? '',
      (rule.tags ?? []).map((tag) => h('span', { class: 'chip' }, tag)),
      h('span', { class: rule.enabled ? 'ok' : 'muted', 'data-testid': 'rule-enabled' }, rule.enabled ? 'enabled' : 'disabled'),
      rule.source ?? '',
      String(rule.hits ?? 0),
    ]);
    replace(root,
      h('p', { class: 'muted' }, `${rules.length} rules, ${rules.filter((rule) => rule.enabled).length} enabled`),
      table(['Title', 'Kind', 'Level', 'Tags', 'State', 'Source', 'Hits'], rows, { 'data-testid': 'rules-table' }),
      refused.length ? [h('h2', {}, 'Refused'),
        table(['Path', 'Id', 'Title', 'Reason'], refused.map((item) => [item.path ?? '', item.id ?? '', item.title ?? '', item.reason]),
          { 'data-testid': 'rules-refused' })] : null);
    for (const [index, tr] of root.querySelectorAll('tbody tr').entries()) {
      if (rules[index]) tr.setAttribute('data-testid', 'rule-row');
    }
  }).catch((error) => {
    root.replaceChildren();
    showError(error);
  });
}
