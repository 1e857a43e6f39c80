// weft's analyst UI: hash routes, one module per page. Each page renders into <main> and may
// return a cleanup function (timers), called when the route changes.

import { api, ApiError, satisfies, setToken, token } from './api.js';
import { h, replace } from './dom.js';
import { signInPage } from './pages/signin.js';
import { incidentsPage } from './pages/incidents.js';
import { incidentPage } from './pages/incident.js';
import { eventsPage } from './pages/events.js';
import { sqlPage } from './pages/sql.js';
import { rulesPage } from './pages/rules.js';
import { rulePage } from './pages/rule.js';
import { healthPage } from './pages/health.js';
import { dashboardPage, dashboardsPage } from './pages/dashboard.js';

/** Who is signed in: `{name, role, token_id}` or null. */
export const session = { me: null };

export function can(required) {
  return Boolean(session.me) && satisfies(session.me.role, required);
}

/** Shows an error (an ApiError or a message) in the banner; a 401 signs out. */
export function showError(error) {
  const banner = document.getElementById('error');
  if (!error) {
    banner.hidden = true;
    banner.replaceChildren();
    return;
  }
  if (error instanceof ApiError && error.status === 401 && session.me) {
    signOut('Your token was refused; sign in again.');
    return;
  }
  replace(banner, error instanceof Error ? error.message : String(error),
    h('button', { type: 'button', class: 'link', 'aria-label': 'Dismiss', onclick: () => showError(null) }, '×'));
  banner.hidden = false;
}

export async function signIn(value) {
  const me = await api('/api/v1/whoami', { tokenOverride: value });
  setToken(value);
  session.me = me;
  renderHeader();
  return me;
}

export function signOut(message) {
  setToken(null);
  session.me = null;
  renderHeader();
  if (location.hash !== '#/signin') location.hash = '#/signin';
  else route();
  if (message) showError(message);
}

function renderHeader() {
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  const out = document.getElementById('sign-out');
  nav.hidden = !session.me;
  out.hidden = !session.me;
  for (const link of nav.querySelectorAll('[data-min-role]')) {
    link.hidden = !can(link.getAttribute('data-min-role'));
  }
  replace(who, session.me ? [h('span', { 'data-testid': 'whoami-name' }, session.me.name), ' · ',
    h('span', { 'data-testid': 'whoami-role' }, session.me.role)] : []);
}

const routes = [
  [/^\/incidents\/([^/?]+)$/, (main, params, [id]) => incidentPage(main, decodeURIComponent(id))],
  [/^\/incidents$/, (main, params) => incidentsPage(main, params)],
  [/^\/events$/, (main, params) => eventsPage(main, params)],
  [/^\/sql$/, (main, params) => sqlPage(main, params)],
  [/^\/rules\/([^/?]+)$/, (main, params, [id]) => rulePage(main, decodeURIComponent(id))],
  [/^\/rules$/, (main) => rulesPage(main)],
  [/^\/health$/, (main) => healthPage(main)],
  [/^\/dashboards$/, (main) => dashboardsPage(main)],
  [/^\/dashboards\/([^/?]+)$/, (main, params, [id]) => dashboardPage(main, decodeURIComponent(id), params)],
];

let cleanup = null;

/** Renders the page of the current hash. */
export function route() {
  if (cleanup) cleanup();
  cleanup = null;
  showError(null);
  const main = document.getElementById('main');
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, search = ''] = hash.split('?');
  const params = Object.fromEntries(new URLSearchParams(search));
  main.replaceChildren();
  if (!session.me || path === '/signin') {
    signInPage(main);
    return;
  }
  const found = routes.find(([pattern]) => pattern.test(path));
  if (!found) {
    location.replace('#/incidents');
    return;
  }
  const [pattern, render] = found;
  const result = render(main, params, pattern.exec(path).slice(1));
  if (typeof result === 'function') cleanup = result;
  for (const link of document.querySelectorAll('#nav a')) {
    const current = path.startsWith(link.getAttribute('href').slice(1));
    if (current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

/** Moves focus to the page's content after a navigation (not on refreshes). */
export function focusMain() {
  document.getElementById('main').focus({ preventScroll: true });
}

async function start() {
  document.getElementById('sign-out').addEventListener('click', () => signOut());
  window.addEventListener('hashchange', () => {
    route();
    focusMain();
  });
  const saved = token();
  if (saved) {
    try {
      await signIn(saved);
    } catch (error) {
      setToken(null);
      if (!(error instanceof ApiError && error.status === 401)) showError(error);
    }
  }
  renderHeader();
  if (session.me && (!location.hash || location.hash === '#/' || location.hash === '#/signin')) {
    location.replace('#/incidents');
  }
  route();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
