/** Dead-letter deliveries and their retry. */
import { ApiProblem, api, type DeadLetter } from './api.js';
import { $, fmt, h } from './dom.js';

export async function refreshDeadLetters(canRetry: boolean): Promise<void> {
  const page = await api<{ total: number; items: DeadLetter[] }>(
    'GET',
    '/api/v2/routing/deadletters?limit=200',
  );
  $('dead-count').textContent = String(page.total);
  $('dead-rows').replaceChildren(
    ...(page.items.length === 0
      ? [
          h(
            'tr',
            {},
            h('td', { colspan: '6' }, 'No dead letters: every delivery arrived or is still being retried.'),
          ),
        ]
      : page.items.map((d) => {
          const retry = h('button', { type: 'button', disabled: !canRetry }, 'Retry');
          retry.addEventListener('click', async () => {
            try {
              $('dead-error').textContent = '';
              await api('POST', `/api/v2/routing/deadletters/${encodeURIComponent(d.eventId)}/retry`);
            } catch (err) {
              $('dead-error').textContent =
                err instanceof ApiProblem ? err.messages.join(' · ') : String(err);
            }
            await refreshDeadLetters(canRetry);
          });
          return h(
            'tr',
            {},
            h('td', {}, fmt.dateTime(d.deadAt)),
            h('td', {}, d.callbackId),
            h('td', {}, `${d.eventType} (${d.channel})`),
            h('td', {}, String(d.attempts)),
            h('td', {}, d.lastError ?? ''),
            h('td', {}, retry),
          );
        })),
  );
}
