/** `callbackd slots QUEUE --from --to [--zone] [--json]`: the bookable slots of a queue. */
import type { Command } from 'commander';
import type { ExitCode } from '../exit.js';
import { addClientOptions, type ClientOptions, type Io, report, withClient } from './client.js';

interface SlotsAnswer {
  queueId: string;
  timeZone: string;
  slots: { start: string; end: string; localStart: string; remaining: number | null }[];
}

/** One line per slot: the local start (with offset), the UTC start, what is left. */
export function formatSlots(answer: SlotsAnswer): string {
  if (answer.slots.length === 0) return `no bookable slot in that window (${answer.timeZone})`;
  const lines = answer.slots.map(
    (s) => `${s.localStart}  ${s.start}  ${s.remaining === null ? 'open' : `${s.remaining} left`}`,
  );
  return [`${answer.slots.length} bookable slots, local times in ${answer.timeZone}:`, ...lines].join('\n');
}

export function registerSlotsCommand(program: Command, io: Io, setExit: (code: ExitCode) => void): void {
  addClientOptions(
    program
      .command('slots')
      .description(
        'the slots a callback could be booked into now (GET /api/v2/routing/queues/{queueId}/slots)',
      )
      .argument('<queueId>')
      .option('--from <iso>', 'window start, ISO 8601 (default now)')
      .option('--to <iso>', 'window end, ISO 8601 (default from + 1 day; at most 31 days)')
      .option('--zone <iana>', "the customer's zone: reads the calling window and shows local times")
      .option('--number <e164>', "the customer's number: its country's zone when --zone is absent"),
  ).action(
    async (
      queueId: string,
      opts: ClientOptions & { from?: string; to?: string; zone?: string; number?: string },
    ) => {
      const q = new URLSearchParams();
      if (opts.from) q.set('from', opts.from);
      if (opts.to) q.set('to', opts.to);
      if (opts.zone) q.set('timeZone', opts.zone);
      if (opts.number) q.set('callbackNumber', opts.number);
      setExit(
        await withClient(opts, async (client) =>
          report(
            io,
            await client.call('GET', `/api/v2/routing/queues/${encodeURIComponent(queueId)}/slots?${q}`),
            opts.json,
            (b) => formatSlots(b as SlotsAnswer),
          ),
        ),
      );
    },
  );
}
