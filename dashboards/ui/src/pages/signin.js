import { h } from '../dom.js';
import { session, showError, signIn, signOut } from '../main.js';

export function signInPage(main) {
  if (session.me) {
    main.append(h('section', { class: 'card narrow' },
      h('h1', {}, 'Signed in'),
      h('p', {}, 'As ', h('strong', {}, session.me.name), ` (${session.me.role}).`),
      h('p', {}, h('a', { href: '#/incidents' }, 'Open the incident queue')),
      h('button', { type: 'button', onclick: () => signOut() }, 'Sign out')));
    return;
  }
  const input = h('input', {
    id: 'token-input', 'data-testid': 'token-input', type: 'password', autocomplete: 'off',
    spellcheck: 'false', required: true, placeholder: 'weft_…',
  });
  const button = h('button', { type: 'submit', id: 'sign-in', 'data-testid': 'sign-in' }, 'Sign in');
  const form = h('form', {
    class: 'card narrow', 'data-testid': 'sign-in-form',
    onsubmit: async (event) => {
      event.preventDefault();
      const value = input.value.trim();
      if (!value) return;
      button.disabled = true;
      try {
        await signIn(value);
        showError(null);
        location.hash = '#/incidents';
      } catch (error) {
        showError(error.status === 401 ? 'That token was not accepted.' : error);
        input.focus();
      } finally {
        button.disabled = false;
      }
    },
  },
  h('h1', {}, 'Sign in to weft'),
  h('label', { for: 'token-input' }, 'API token'),
  input,
  h('p', { class: 'muted' }, 'The token stays in this tab (session storage) and is sent only to this server.'),
  button);
  main.append(form);
  input.focus();
}
