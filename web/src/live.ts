/**
 * Live updates: the transition stream over server-sent events; after repeated failures, polling
 * the same stream as JSON pages. The indicator says which state the page is in.
 */
import { api, type Transition } from './api.js';
import { $ } from './dom.js';

type LiveState = 'live' | 'reconnecting' | 'polling' | 'offline';

const LABELS: Record<LiveState, string> = {
  live: 'live',
  reconnecting: 'reconnecting…',
  polling: 'live (polling)',
  offline: 'offline',
};

function show(state: LiveState): void {
  const el = $('live');
  el.textContent = LABELS[state];
  el.className = `live ${state === 'live' || state === 'polling' ? 'on' : state === 'reconnecting' ? 'wait' : 'off'}`;
}

const STREAM = '/api/v2/routing/transitions';
/** Consecutive stream errors before the page falls back to polling. */
const MAX_STREAM_FAILURES = 5;

export function startLive(onTransition: (t: Transition) => void): () => void {
  let lastId: number | null = null;
  let source: EventSource | null = null;
  let pollTimer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  let stopped = false;

  const poll = async () => {
    if (stopped) return;
    try {
      if (lastId === null) lastId = (await api<{ lastId: number }>('GET', STREAM)).lastId;
      const page = await api<{ items: Transition[]; lastId: number }>('GET', `${STREAM}?after=${lastId}`);
      for (const t of page.items) onTransition(t);
      lastId = page.lastId;
      show('polling');
    } catch {
      show('reconnecting');
    }
    pollTimer = setTimeout(poll, 3_000);
  };

  const connect = () => {
    // EventSource resends Last-Event-ID itself on its own reconnects; a new one resumes by ?after=.
    source = new EventSource(lastId === null ? STREAM : `${STREAM}?after=${lastId}`);
    source.addEventListener('open', () => {
      failures = 0;
      show('live');
    });
    source.addEventListener('transition', (ev) => {
      const t = JSON.parse((ev as MessageEvent<string>).data) as Transition;
      lastId = t.id;
      onTransition(t);
    });
    source.addEventListener('error', () => {
      failures++;
      show('reconnecting');
      if (source?.readyState === EventSource.CLOSED || failures >= MAX_STREAM_FAILURES) {
        source?.close();
        if (failures >= MAX_STREAM_FAILURES) void poll();
        else setTimeout(connect, 2_000);
      }
    });
  };

  show('reconnecting');
  connect();
  return () => {
    stopped = true;
    source?.close();
    clearTimeout(pollTimer);
    show('offline');
  };
}
