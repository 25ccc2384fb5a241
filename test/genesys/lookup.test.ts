import { afterEach, describe, expect, it } from 'vitest';
import { createGenesysClient, type GenesysClient } from '../../src/genesys/client.js';
import {
  type CallbackLookup,
  createCallbackEventIndex,
  createCallbackLookup,
  type LookupTarget,
} from '../../src/genesys/lookup.js';
import {
  type FakePlatform,
  ManualClock,
  type Recorded,
  type Reply,
  startFakePlatform,
  tokenReply,
} from './fake-platform.js';

let platform: FakePlatform | undefined;
let client: GenesysClient | undefined;
afterEach(async () => {
  await client?.close();
  await platform?.close();
  client = undefined;
  platform = undefined;
});

const T0 = Date.parse('2030-01-01T12:00:00.000Z');
const SEARCH = '/api/v2/conversations/participants/attributes/search';
const DETAILS = '/api/v2/analytics/conversations/details/query';

const target = (over: Partial<LookupTarget> = {}): LookupTarget => ({
  callbackId: 'cb-1',
  tenantId: 'acme',
  queueIds: ['q1'],
  callbackNumber: '+14155552671',
  attemptFrom: T0,
  attemptTo: T0 + 30_000,
  ...over,
});

const row = (conversationId: string, attrs: Record<string, string>) => ({
  conversationId,
  startTime: new Date(T0).toISOString(),
  participantData: [
    { participantPurpose: 'customer', participantId: 'p1', participantAttributes: attrs, sessionIds: [] },
  ],
});

type Api = (req: Recorded) => Reply;

async function setup(api: Api, opts: { events?: ReturnType<typeof createCallbackEventIndex> } = {}) {
  platform = await startFakePlatform((req) => (req.path === '/oauth/token' ? tokenReply('t') : api(req)));
  const clock = new ManualClock(T0 + 1_000);
  client = createGenesysClient({
    baseUrl: platform.url,
    clientId: 'id',
    clientSecret: 's',
    clock,
    maxRetries: 0,
    // The manual clock never advances on its own: a budget the look-up's bounded reads never exhaust.
    requestsPerMinute: 60_000,
  });
  const lookup: CallbackLookup = createCallbackLookup({
    genesys: client,
    clock,
    events: opts.events,
    searchLagMs: 60_000,
    detailsLagMs: 60_000,
    maxCandidateReads: 2,
  });
  return { platform, clock, lookup };
}

const notFound: Reply = { status: 404, body: { code: 'not.found', message: 'no route' } };

describe('look-up by callbackId', () => {
  it('a callback event the channel delivered settles it without a platform call', async () => {
    const events = createCallbackEventIndex();
    events.note({
      id: 'conv-ev',
      source: 'event',
      participants: [{ purpose: 'customer', attributes: { callbackId: 'cb-1', callbackdTenant: 'acme' } }],
    });
    const { lookup, platform } = await setup(() => notFound, { events });
    const r = await lookup.lookup(target());
    expect(r).toMatchObject({ found: ['conv-ev'], settledBy: 'events', calls: 0 });
    expect(platform.api()).toHaveLength(0);
  });

  it('the attribute search finds it on a later cursor page; DATE_RANGE on startTime around the attempt', async () => {
    const { lookup, platform } = await setup((req) => {
      if (req.path !== SEARCH) return notFound;
      const cursor = (req.json as { cursor?: string }).cursor;
      return cursor === undefined
        ? {
            status: 200,
            body: { types: [], results: [row('conv-a', { callbackId: 'cb-other' })], cursor: 'next' },
          }
        : {
            status: 200,
            body: { types: [], results: [row('conv-b', { callbackId: 'cb-1', callbackdTenant: 'acme' })] },
          };
    });
    const r = await lookup.lookup(target());
    expect(r).toMatchObject({ found: ['conv-b'], settledBy: 'search', calls: 2 });
    const q = (
      platform.api()[0]!.json as {
        query: { type: string; fields: string[]; startValue: string; endValue: string }[];
      }
    ).query[0]!;
    expect(q.type).toBe('DATE_RANGE');
    expect(q.fields).toEqual(['startTime']);
    expect(Date.parse(q.startValue)).toBeLessThanOrEqual(T0);
    expect(Date.parse(q.endValue)).toBeGreaterThanOrEqual(T0 + 30_000);
    expect(Date.parse(q.endValue) - Date.parse(q.startValue)).toBeLessThanOrEqual(86_400_000);
  });

  it("never adopts another tenant's callback with the same callbackId", async () => {
    const { lookup } = await setup((req) =>
      req.path === SEARCH
        ? {
            status: 200,
            body: { results: [row('conv-x', { callbackId: 'cb-1', callbackdTenant: 'globex' })] },
          }
        : req.path === DETAILS
          ? { status: 200, body: { conversations: [], totalHits: 0 } }
          : notFound,
    );
    const r = await lookup.lookup(target());
    expect(r.found).toEqual([]);
    expect(r.strategies.search).toBe('none');
  });

  it('search refused ("Search not supported"): the details query by queue and number, each candidate read', async () => {
    const { lookup, platform } = await setup((req) => {
      if (req.path === SEARCH)
        return { status: 400, body: { code: 'bad.request', message: 'Search not supported' } };
      if (req.path === DETAILS) {
        return {
          status: 200,
          body: {
            totalHits: 2,
            conversations: [
              {
                conversationId: 'conv-1',
                conversationStart: new Date(T0 - 3_600_000).toISOString(),
                participants: [],
              },
              { conversationId: 'conv-2', conversationStart: new Date(T0).toISOString(), participants: [] },
            ],
          },
        };
      }
      const id = req.path.split('/').at(-1);
      return {
        status: 200,
        body: {
          id,
          participants: [
            { purpose: 'customer', attributes: { callbackId: id === 'conv-2' ? 'cb-1' : 'cb-0' } },
          ],
        },
      };
    });
    const r = await lookup.lookup(target());
    expect(r).toMatchObject({ found: ['conv-2'], settledBy: 'details' });
    expect(r.strategies.search).toBe('unsupported');
    expect(lookup.unsupported()).toEqual(['search']);
    const body = platform.api().find((q) => q.path === DETAILS)!.json as {
      interval: string;
      segmentFilters: { predicates: { dimension: string; value: string }[] }[];
    };
    expect(body.segmentFilters[0]!.predicates.map((p) => p.dimension)).toEqual([
      'mediaType',
      'callbackNumber',
    ]);
    const [from, to] = body.interval.split('/').map((t) => Date.parse(t));
    expect(to! - from!).toBeLessThanOrEqual(31 * 86_400_000);
    expect(from).toBeLessThan(T0 - 86_400_000 + 1);
    // A refused strategy is not asked again at once.
    await lookup.lookup(target());
    expect(platform.api().filter((q) => q.path === SEARCH)).toHaveLength(1);
  });

  it('absence is proven only past every lag window, with every available strategy complete', async () => {
    const { lookup, clock } = await setup((req) =>
      req.path === SEARCH
        ? { status: 200, body: { results: [] } }
        : req.path === DETAILS
          ? { status: 200, body: { conversations: [], totalHits: 0 } }
          : notFound,
    );
    const early = await lookup.lookup(target());
    expect(early).toMatchObject({ found: [], absent: false, absentFrom: T0 + 30_000 + 60_000 });
    clock.t = T0 + 30_000 + 60_000;
    expect(await lookup.lookup(target())).toMatchObject({
      absent: true,
      strategies: { search: 'none', details: 'none' },
    });
  });

  it('a strategy stopped at its bound or failing proves nothing; a complete one proves absence alone', async () => {
    let searchStatus = 200;
    const { lookup, clock } = await setup((req) => {
      if (req.path === SEARCH)
        return searchStatus === 200 ? { status: 200, body: { results: [] } } : { status: 500, body: {} };
      if (req.path === DETAILS) {
        return {
          status: 200,
          body: {
            totalHits: 3,
            conversations: ['a', 'b', 'c'].map((id) => ({ conversationId: id, participants: [] })),
          },
        };
      }
      return {
        status: 200,
        body: { id: req.path.split('/').at(-1), participants: [{ attributes: { callbackId: 'cb-0' } }] },
      };
    });
    clock.t = T0 + 3_600_000;
    // Search complete and empty: absence proven although details read only 2 of 3 candidates.
    expect(await lookup.lookup(target())).toMatchObject({
      absent: true,
      strategies: { search: 'none', details: 'partial' },
    });
    // Search failing and details partial: nothing proves absence.
    searchStatus = 500;
    expect(await lookup.lookup(target())).toMatchObject({
      absent: false,
      strategies: { search: 'failed', details: 'partial' },
    });
  });

  it('a crowded window (more conversations than a few pages hold) is read in full on the deciding pass, so it finds or proves absence', async () => {
    // 20 pages of 50 conversations with attributes in the attempt's window: the busy org, or the chaos run.
    const PAGES = 20;
    let hidden = 'cb-other';
    let searchCalls = 0;
    const { lookup, clock } = await setup((req) => {
      if (req.path === SEARCH) {
        searchCalls++;
        const page = Number((req.json as { cursor?: string }).cursor ?? '0');
        const results = Array.from({ length: 50 }, (_, i) => {
          const n = page * 50 + i;
          return row(`conv-${n}`, {
            callbackId: n === PAGES * 50 - 1 ? hidden : `cb-x${n}`,
            callbackdTenant: 'acme',
          });
        });
        return { status: 200, body: { results, ...(page + 1 < PAGES ? { cursor: String(page + 1) } : {}) } };
      }
      if (req.path === DETAILS) return { status: 500, body: {} };
      return notFound;
    });
    // Inside the lag window a pass reads its few pages only: nothing proven, nothing found.
    const early = await lookup.lookup(target());
    expect(early).toMatchObject({ found: [], absent: false, strategies: { search: 'partial' } });
    expect(searchCalls).toBe(3);
    // The deciding pass reads the whole window: absent when the last page does not hold it…
    clock.t = T0 + 30_000 + 60_000;
    searchCalls = 0;
    expect(await lookup.lookup(target())).toMatchObject({ absent: true, strategies: { search: 'none' } });
    expect(searchCalls).toBe(PAGES);
    // …and found when it does.
    hidden = 'cb-1';
    expect(await lookup.lookup(target())).toMatchObject({
      found: [`conv-${PAGES * 50 - 1}`],
      settledBy: 'search',
    });
  });

  it('when the org refuses both search and details, absence is never proven', async () => {
    const { lookup, clock } = await setup(() => ({
      status: 403,
      body: { code: 'missing.permissions', message: 'no' },
    }));
    clock.t = T0 + 3_600_000;
    expect(await lookup.lookup(target())).toMatchObject({
      absent: false,
      strategies: { search: 'unsupported', details: 'unsupported' },
    });
  });
});
