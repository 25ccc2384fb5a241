/** The overview: per queue its open and today's counts, the slot timeline, and promise kept today / 7 days. */
import { api, type Overview, type QueueStats, query, STATUSES } from './api.js';
import { COLORS, draw, resetCharts } from './charts.js';
import { $, fmt, h } from './dom.js';

function canvas(label: string): HTMLCanvasElement {
  return h('canvas', { role: 'img', 'aria-label': label });
}

function countsTable(caption: string, counts: Record<string, number>, statuses: readonly string[]) {
  // A six-status row is wider than a phone: the table scrolls inside its card, not the page.
  return h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      { class: 'counts' },
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, ...statuses.map((s) => h('th', { scope: 'col' }, s)))),
      h(
        'tbody',
        {},
        h('tr', {}, ...statuses.map((s) => h('td', { 'data-status': s }, String(counts[s] ?? 0)))),
      ),
    ),
  );
}

function reasons(title: string, byReason: Record<string, number>) {
  const entries = Object.entries(byReason).sort((a, b) => b[1] - a[1]);
  return h(
    'p',
    { class: 'reasons' },
    `${title}: `,
    entries.length === 0 ? 'none' : entries.map(([r, n]) => `${r} ${n}`).join(', '),
  );
}

function keptFigures(label: string, stats: QueueStats) {
  const t = stats.totals;
  return h(
    'div',
    { class: 'kept' },
    h(
      'p',
      { class: 'big' },
      h('strong', {}, fmt.percent(t.keptShare)),
      ` of ${t.due} due callbacks dialled within ${stats.withinMinutes} min (${label})`,
    ),
    reasons('Expired by reason', t.expiredByReason),
    reasons('Rejected by reason', t.rejectedByReason),
    h(
      'p',
      {},
      `Attempts per completion: ${fmt.number(t.attemptsPerCompletion, 2)} (${t.completions} completed)`,
    ),
  );
}

function keptChart(title: string, stats: QueueStats, labelOf: (iso: string) => string) {
  const c = canvas(`${title} for ${stats.name}: ${fmt.percent(stats.totals.keptShare)} kept overall`);
  draw(c, {
    type: 'bar',
    data: {
      labels: stats.buckets.map((b) => labelOf(b.start)),
      datasets: [
        { label: 'kept', data: stats.buckets.map((b) => b.kept), backgroundColor: COLORS.kept },
        { label: 'due', data: stats.buckets.map((b) => b.due), backgroundColor: COLORS.due },
      ],
    },
    options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  return h('figure', { class: 'chart' }, h('figcaption', {}, title), h('div', { class: 'chart-box' }, c));
}

export async function renderOverview(onDeadLetters: () => void): Promise<Overview> {
  const overview = await api<Overview>('GET', '/api/v2/routing/overview?hours=4');
  const stats = await Promise.all(
    overview.queues.map(async (q) => {
      const path = `/api/v2/routing/queues/${encodeURIComponent(q.id)}/stats`;
      // The queue's day; a week back is six of its days earlier (the server aligns days to its zone).
      const weekFrom = new Date(Date.parse(q.todayFrom) - 6 * 86_400_000).toISOString();
      const [today, week] = await Promise.all([
        api<QueueStats>('GET', `${path}${query({ from: q.todayFrom, to: q.todayTo, bucket: '1h' })}`),
        api<QueueStats>('GET', `${path}${query({ from: weekFrom, to: q.todayTo, bucket: '1d' })}`),
      ]);
      return { today, week };
    }),
  );

  const p = overview.platform;
  const deadLink = h('button', { type: 'button', class: 'link' }, `${overview.deadLetters} dead letters`);
  deadLink.addEventListener('click', onDeadLetters);
  $('platform').replaceChildren(
    h('h3', {}, 'Platform and delivery'),
    h(
      'div',
      { class: 'meters' },
      h(
        'label',
        {},
        `Platform calls in the last minute: ${p.callsLastMinute} of ${p.requestsPerMinute}`,
        h('meter', {
          min: '0',
          max: String(p.requestsPerMinute),
          high: String(Math.round(p.requestsPerMinute * 0.8)),
          value: String(p.callsLastMinute),
        }),
      ),
      h('p', {}, `429 answers: ${p.throttledLastMinute} last minute, ${p.throttledLastHour} last hour`),
      h(
        'p',
        {},
        `Submit backlog: ${overview.submitBacklog.waiting} waiting to be created (${overview.submitBacklog.due} due now)`,
      ),
      h('p', {}, 'Dead-letter deliveries: ', deadLink),
    ),
  );
  $('dead-count').textContent = String(overview.deadLetters);

  resetCharts();
  $('queues').replaceChildren(
    ...overview.queues.map((q, i) => {
      const { today, week } = stats[i]!;
      const slotCanvas = canvas(
        `Booked callbacks per 15-minute slot for ${q.name}, next 4 hours: ${q.slots.reduce((n, s) => n + s.booked, 0)} in total`,
      );
      const hasCapacity = q.slots.some((s) => s.capacity !== null);
      draw(slotCanvas, {
        type: 'bar',
        data: {
          labels: q.slots.map((s) => fmt.time(s.start)),
          datasets: [
            {
              type: 'bar',
              label: 'booked',
              data: q.slots.map((s) => s.booked),
              backgroundColor: COLORS.booked,
            },
            ...(hasCapacity
              ? [
                  {
                    type: 'line' as const,
                    label: 'capacity',
                    data: q.slots.map((s) => s.capacity ?? 0),
                    borderColor: COLORS.capacity,
                    pointRadius: 0,
                  },
                ]
              : []),
          ],
        },
        options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
      });
      return h(
        'section',
        { class: 'card queue', 'aria-labelledby': `q-${i}`, 'data-queue': q.id },
        h('h3', { id: `q-${i}` }, q.name, h('span', { class: 'sub' }, ` ${q.timeZone}`)),
        countsTable('Open now', q.open, ['accepted', 'pending']),
        countsTable('Scheduled today', q.today, STATUSES),
        h(
          'figure',
          { class: 'chart' },
          h(
            'figcaption',
            {},
            `Next 4 hours, booked per 15-minute slot${hasCapacity ? ' against slot capacity' : ` (platform queue holds ${q.maxCallbacks} waiting)`}`,
          ),
          h('div', { class: 'chart-box' }, slotCanvas),
        ),
        h('h4', {}, 'Promise kept'),
        keptFigures('today', today),
        keptChart('Today, by hour', today, fmt.time),
        keptFigures('last 7 days', week),
        keptChart('Last 7 days, by day', week, fmt.day),
      );
    }),
  );
  return overview;
}
