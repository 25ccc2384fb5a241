/** The callbacks list (filter, sort, page) and the detail panel with its history and actions. */
import { ApiProblem, api, type Callback, query, type Row, type Session, STATUSES } from './api.js';
import { $, fmt, h } from './dom.js';

const PAGE_SIZE = 25;

interface ListState {
  filters: Record<string, string>;
  sort: string;
  offset: number;
  total: number;
}

const state: ListState = { filters: {}, sort: '-scheduledTime', offset: 0, total: 0 };
let session: Session | null = null;
let openId: string | null = null;

const localToIso = (v: string) => (v ? new Date(v).toISOString() : undefined);

let wired = false;

export function setupCallbacks(s: Session, queues: { id: string; name: string }[]): void {
  session = s;
  if (wired) return;
  wired = true;
  const form = $('filters') as HTMLFormElement;
  const statusSelect = form.elements.namedItem('status') as HTMLSelectElement;
  statusSelect.append(...STATUSES.map((st) => h('option', { value: st }, st)));
  const queueSelect = form.elements.namedItem('queueId') as HTMLSelectElement;
  queueSelect.append(...queues.map((q) => h('option', { value: q.id }, q.name)));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    state.filters = {};
    for (const [k, v] of data) if (typeof v === 'string' && v.trim()) state.filters[k] = v.trim();
    state.offset = 0;
    void refreshList();
  });
  form.addEventListener('reset', () => {
    state.filters = {};
    state.offset = 0;
    setTimeout(() => void refreshList(), 0);
  });
  for (const b of document.querySelectorAll<HTMLButtonElement>('#cb-table [data-sort]')) {
    b.addEventListener('click', () => {
      const key = b.dataset.sort!;
      state.sort = state.sort === `-${key}` ? key : `-${key}`;
      state.offset = 0;
      void refreshList();
    });
  }
  $('prev').addEventListener('click', () => {
    state.offset = Math.max(0, state.offset - PAGE_SIZE);
    void refreshList();
  });
  $('next').addEventListener('click', () => {
    if (state.offset + PAGE_SIZE < state.total) state.offset += PAGE_SIZE;
    void refreshList();
  });
  $('detail-close').addEventListener('click', () => {
    openId = null;
    $('detail').hidden = true;
  });
}

function sortMarks(): void {
  for (const b of document.querySelectorAll<HTMLButtonElement>('#cb-table [data-sort]')) {
    const key = b.dataset.sort!;
    const th = b.closest('th')!;
    if (state.sort === key) th.setAttribute('aria-sort', 'ascending');
    else if (state.sort === `-${key}`) th.setAttribute('aria-sort', 'descending');
    else th.removeAttribute('aria-sort');
  }
}

export async function refreshList(): Promise<void> {
  const { from, to, ...rest } = state.filters;
  const page = await api<{ total: number; items: Row[] }>(
    'GET',
    `/api/v2/routing/dashboard/callbacks${query({
      ...rest,
      from: localToIso(from ?? ''),
      to: localToIso(to ?? ''),
      sort: state.sort,
      offset: state.offset,
      limit: PAGE_SIZE,
    })}`,
  );
  state.total = page.total;
  sortMarks();
  $('cb-rows').replaceChildren(
    ...page.items.map((r) => {
      const open = h('button', { type: 'button', class: 'link' }, r.callbackId);
      open.addEventListener('click', () => void openDetail(r.callbackId));
      return h(
        'tr',
        { 'data-callback-id': r.callbackId, class: r.callbackId === openId ? 'selected' : undefined },
        h('td', {}, fmt.dateTime(r.scheduledTime)),
        h(
          'td',
          {},
          h('span', { class: `status ${r.status}` }, r.status),
          r.reasonCode ? ` ${r.reasonCode}` : '',
        ),
        h('td', {}, open),
        h('td', {}, r.queueName),
        h('td', {}, [r.customerName, r.externalId].filter(Boolean).join(' · ')),
        h('td', { class: 'mono' }, r.callbackNumber),
        h('td', {}, String(r.attempts)),
        h('td', {}, fmt.dateTime(r.updatedAt)),
      );
    }),
  );
  const last = Math.min(state.offset + PAGE_SIZE, page.total);
  $('page-info').textContent =
    page.total === 0 ? 'No callbacks match' : `${state.offset + 1}–${last} of ${page.total}`;
  $('cb-caption').textContent = `Callbacks (${page.total})`;
  ($('prev') as HTMLButtonElement).disabled = state.offset === 0;
  ($('next') as HTMLButtonElement).disabled = last >= page.total;
}

const can = (scope: string) => session?.scopes.includes(scope) ?? false;

function showProblem(err: unknown): void {
  const text = err instanceof ApiProblem ? err.messages.join(' · ') : String((err as Error).message ?? err);
  $('action-error').textContent = text;
}

function actions(cb: Callback): HTMLElement[] {
  if (!can('routing:callback:edit') || (cb.status !== 'accepted' && cb.status !== 'pending')) return [];
  const cancel = h('button', { type: 'button', class: 'danger' }, 'Cancel callback');
  cancel.addEventListener('click', async () => {
    if (!window.confirm(`Cancel ${cb.callbackId}? The customer will not be called.`)) return;
    try {
      $('action-error').textContent = '';
      await api('DELETE', `/api/v2/routing/callbacks/${encodeURIComponent(cb.callbackId)}`);
    } catch (err) {
      showProblem(err);
    }
    await openDetail(cb.callbackId);
  });
  const input = h('input', {
    id: 'reschedule-time',
    name: 'scheduledTime',
    type: 'text',
    value: cb.scheduledTime,
    spellcheck: 'false',
    'aria-describedby': 'reschedule-hint',
  });
  const form = h(
    'form',
    { class: 'reschedule', 'aria-label': 'Reschedule' },
    h('label', { for: 'reschedule-time' }, 'New scheduled time'),
    input,
    h('small', { id: 'reschedule-hint' }, 'ISO 8601 with Z or an offset, e.g. 2030-01-07T16:30:00Z'),
    h('button', { type: 'submit' }, 'Reschedule'),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      $('action-error').textContent = '';
      await api('PATCH', `/api/v2/routing/callbacks/${encodeURIComponent(cb.callbackId)}`, {
        scheduledTime: input.value.trim(),
      });
      await openDetail(cb.callbackId);
    } catch (err) {
      showProblem(err);
    }
  });
  return [cancel, form];
}

export async function openDetail(callbackId: string): Promise<void> {
  const cb = await api<Callback>('GET', `/api/v2/routing/callbacks/${encodeURIComponent(callbackId)}`);
  const changed = openId !== callbackId;
  openId = callbackId;
  if (changed) $('action-error').textContent = '';
  $('detail-title').textContent = cb.callbackId;
  const field = (k: string, v: string) => [h('dt', {}, k), h('dd', {}, v)];
  const name = [cb.customerData.firstName, cb.customerData.lastName].filter(Boolean).join(' ');
  $('detail-fields').replaceChildren(
    ...field('Status', cb.status + (cb.statusReason ? ` — ${cb.statusReason.code}` : '')),
    ...field('Scheduled', fmt.dateTime(cb.scheduledTime)),
    ...field('Customer', [name, cb.customerData.externalId].filter(Boolean).join(' · ') || '–'),
    ...field('Number', cb.callbackNumber),
    ...field('Conversation', cb.conversationId ?? 'not on the platform yet'),
    ...field('Attempts', String(cb.attempts)),
    ...(cb.nextAttemptAt ? field('Next attempt', fmt.dateTime(cb.nextAttemptAt)) : []),
  );
  $('detail-actions').replaceChildren(...actions(cb));
  $('timeline').replaceChildren(
    ...cb.history.map((e) =>
      h(
        'li',
        { class: `status-${e.status}` },
        h('time', { datetime: e.at }, fmt.dateTime(e.at)),
        ' ',
        h('strong', { class: `status ${e.status}` }, e.status),
        e.reason ? h('span', { class: 'reason' }, ` ${e.reason.code}: ${e.reason.message}`) : null,
      ),
    ),
  );
  const panel = $('detail');
  panel.hidden = false;
  for (const tr of document.querySelectorAll('#cb-rows tr')) {
    tr.classList.toggle('selected', (tr as HTMLElement).dataset.callbackId === callbackId);
  }
  if (changed) panel.focus();
}

/** A live transition: refresh what shows that callback. */
export function openDetailId(): string | null {
  return openId;
}
