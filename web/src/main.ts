/** The supervisor dashboard: sign-in, then overview, callbacks and dead letters, kept live. */
import './style.css';
import { ApiProblem, api, type Session } from './api.js';
import { openDetail, openDetailId, refreshList, setupCallbacks } from './callbacks.js';
import { refreshDeadLetters } from './deadletters.js';
import { $, debounce } from './dom.js';
import { startLive } from './live.js';
import { renderOverview } from './overview.js';

type Tab = 'overview' | 'callbacks' | 'deadletters';
let current: Tab = 'overview';
let session: Session | null = null;
let stopLive: (() => void) | null = null;

const report = (err: unknown) => {
  if (err instanceof ApiProblem && err.status === 401) return signedOut();
  console.error(err);
};

function refreshCurrent(): void {
  const canRetry = session?.scopes.includes('routing:callback:edit') ?? false;
  const job =
    current === 'overview'
      ? renderOverview(() => select('deadletters'))
      : current === 'callbacks'
        ? refreshList()
        : refreshDeadLetters(canRetry);
  job.catch(report);
}

function select(tab: Tab): void {
  current = tab;
  for (const b of document.querySelectorAll<HTMLButtonElement>('nav.tabs [data-tab]')) {
    if (b.dataset.tab === tab) b.setAttribute('aria-current', 'page');
    else b.removeAttribute('aria-current');
  }
  for (const t of ['overview', 'callbacks', 'deadletters'] as const) $(`tab-${t}`).hidden = t !== tab;
  refreshCurrent();
}

function signedOut(): void {
  stopLive?.();
  stopLive = null;
  session = null;
  $('app-view').hidden = true;
  $('signin-view').hidden = false;
  $('signout').hidden = true;
  $('who').textContent = '';
  ($('apikey') as HTMLInputElement).focus();
}

async function signedIn(s: Session): Promise<void> {
  session = s;
  $('signin-view').hidden = true;
  $('app-view').hidden = false;
  $('signout').hidden = false;
  $('who').textContent = `tenant ${s.tenantId} · ${s.keyName}`;
  const queues = await api<{ items: { id: string; name: string }[] }>('GET', '/api/v2/routing/queues');
  setupCallbacks(s, queues.items);
  select('overview');
  // A burst of transitions (a sweep, a clock jump) becomes one refresh.
  const refresh = debounce(refreshCurrent, 300);
  stopLive = startLive((t) => {
    refresh();
    if (openDetailId() === t.callbackId) openDetail(t.callbackId).catch(report);
  });
}

async function signIn(apiKey: string): Promise<void> {
  const s = await api<Session>('POST', '/api/v2/sessions', { apiKey });
  await signedIn(s);
}

async function start(): Promise<void> {
  for (const b of document.querySelectorAll<HTMLButtonElement>('nav.tabs [data-tab]')) {
    b.addEventListener('click', () => select(b.dataset.tab as Tab));
  }
  $('signin').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const input = $('apikey') as HTMLInputElement;
    $('signin-error').textContent = '';
    signIn(input.value.trim())
      .then(() => {
        input.value = '';
      })
      .catch((err) => {
        $('signin-error').textContent = err instanceof ApiProblem ? err.messages.join(' · ') : String(err);
      });
  });
  $('signout').addEventListener('click', () => {
    api('DELETE', '/api/v2/sessions/current').finally(signedOut);
  });

  // Simulator mode prints a URL with #key=cbk_…: the fragment never reaches the server; exchange it once.
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('key');
  if (fromHash) {
    history.replaceState(null, '', location.pathname);
    try {
      await signIn(fromHash);
      return;
    } catch (err) {
      $('signin-error').textContent = err instanceof ApiProblem ? err.messages.join(' · ') : String(err);
    }
  }
  try {
    await signedIn(await api<Session>('GET', '/api/v2/sessions/current'));
  } catch {
    signedOut();
  }
}

void start();
