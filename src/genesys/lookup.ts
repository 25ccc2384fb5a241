/**
 * Finding a callback on the platform by callbackd's own id (DESIGN.md §3 steps 4–5, GENESYS.md
 * "Finding a callback by our id"). The platform has no filter on participant attributes, so
 * every strategy first gets candidates by documented means, then matches `attributes.callbackId`
 * (and the tenant stamp) on our side:
 *
 * 1. `events`: queue callback events the notification channel delivered (their bodies carry the
 *    attributes); free, and usually there within seconds of the create.
 * 2. `search`: the participant-attributes search, DATE_RANGE on startTime over a short window
 *    around the attempt (≤ 24 h); rows carry every participant's attributes.
 * 3. `details`: the analytics details query filtered by queue, media type callback and the
 *    callback number, over the UTC days around the attempt (it matches by UTC day); its rows have
 *    no attributes, so each candidate is read with the callback GET, at most maxCandidateReads.
 *
 * Each strategy is bounded in calls. Absence is proven only once every strategy's lag window has
 * passed, none found the callback, and at least one of search and details (events may simply have
 * been missed) ran completely, so it saw everything the create could have made; one that failed,
 * or stopped at its bound of pages or candidate reads, proves nothing. A strategy the org refuses
 * (403, or the 400 "not supported") is set aside for a while. When neither can prove absence, the
 * caller never sends again.
 */
import type { EpochMs } from '../domain/types.js';
import { ATTR } from './mapping.js';
import { type CallOptions, type GenesysPort, type PlatformConversation, PlatformError } from './port.js';

export type LookupStrategy = 'events' | 'search' | 'details';
export const LOOKUP_STRATEGIES: readonly LookupStrategy[] = ['events', 'search', 'details'];

/** found: a match · none: ran completely, nothing · partial: ran, pages or candidates left unread. */
export type StrategyStatus = 'found' | 'none' | 'partial' | 'failed' | 'unsupported' | 'not-run';

export interface LookupTarget {
  callbackId: string;
  tenantId: string;
  /** The queues the create may have gone to (the spec's and its overflow). */
  queueIds: readonly string[];
  callbackNumber: string;
  /** The call attempt (ATTR.attempt, absent = 1) the create was for; absent = any. */
  callAttempt?: number;
  /** The create, if sent, started no earlier than this and no later than attemptTo. */
  attemptFrom: EpochMs;
  attemptTo: EpochMs;
}

export interface LookupReport {
  /** Ids of the platform conversations that carry this callbackId (and no other tenant's stamp). */
  found: string[];
  settledBy: LookupStrategy | null;
  /** Past every lag window, search or details ran completely and nothing found it. */
  absent: boolean;
  /** From when absence can be proven (every lag window passed). */
  absentFrom: EpochMs;
  strategies: Record<LookupStrategy, StrategyStatus>;
  /** Platform calls this look-up made. */
  calls: number;
}

/** The callback conversations the notification channel has seen, by callbackId (in memory). */
export interface CallbackEventIndex {
  note(conversation: PlatformConversation): void;
  find(callbackId: string): PlatformConversation[];
}

export function createCallbackEventIndex(maxEntries = 20_000): CallbackEventIndex {
  // Insertion-ordered: the oldest entries go first when full.
  const byId = new Map<string, Map<string, PlatformConversation>>();
  return {
    note(conversation) {
      const id = conversation.participants
        .map((p) => p.attributes?.[ATTR.callbackId])
        .find((v) => v !== undefined);
      if (id === undefined) return;
      let entry = byId.get(id);
      if (!entry) {
        if (byId.size >= maxEntries) byId.delete(byId.keys().next().value!);
        entry = new Map();
        byId.set(id, entry);
      }
      entry.set(conversation.id, conversation);
    },
    find(callbackId) {
      return [...(byId.get(callbackId)?.values() ?? [])];
    },
  };
}

export interface CallbackLookupOptions {
  genesys: Pick<GenesysPort, 'searchAttributes' | 'findCallbackCandidates' | 'getCallbackConversation'>;
  clock: { now(): EpochMs };
  events?: CallbackEventIndex;
  /** How long after a create the attribute search may take to show it. */
  searchLagMs?: number;
  /** How long after a create the analytics details query may take to show it. */
  detailsLagMs?: number;
  /** Clock skew allowance around the attempt window. */
  marginMs?: number;
  searchMaxPages?: number;
  /**
   * Search pages on the pass that decides (past every lag window). A busy org has more
   * conversations in the attempt's window than a few pages hold; without a deeper deciding read
   * the search could never prove absence, and the callback would wait in `accepted` for ever.
   */
  searchDecidingMaxPages?: number;
  detailsMaxPages?: number;
  /** Callback GETs per details pass at most. */
  maxCandidateReads?: number;
  /** A strategy the org refused is tried again after this long. */
  unsupportedRetryMs?: number;
  onUnsupported?: (strategy: LookupStrategy, err: PlatformError) => void;
}

export const LOOKUP_DEFAULTS = {
  searchLagMs: 60_000,
  detailsLagMs: 60_000,
  /** Clock skew between callbackd and the platform (NTP-synchronised servers). */
  marginMs: 60_000,
  searchMaxPages: 3,
  searchDecidingMaxPages: 40,
  detailsMaxPages: 2,
  maxCandidateReads: 5,
  unsupportedRetryMs: 3_600_000,
} as const;

const DAY_MS = 86_400_000;
const SEARCH_MAX_WINDOW_MS = DAY_MS;

export interface CallbackLookup {
  /**
   * Runs the strategies in order until one finds the callback. `opts.signal` (the caller's stop
   * signal) reaches every platform call of every strategy.
   */
  lookup(target: LookupTarget, opts?: CallOptions): Promise<LookupReport>;
  /** Which strategies the org currently refuses (for doctor and logs). */
  unsupported(): LookupStrategy[];
  /** One strategy alone (doctor --probe): its status and what it found. Refusals surface as throws. */
  only(
    strategy: LookupStrategy,
    target: LookupTarget,
    opts?: CallOptions,
  ): Promise<{ status: StrategyStatus; found: string[]; calls: number }>;
}

function matches(attrs: Record<string, string>[], target: LookupTarget): boolean {
  const ids = attrs.map((a) => a[ATTR.callbackId]).filter((v) => v !== undefined);
  const tenants = attrs.map((a) => a[ATTR.tenantId]).filter((v) => v !== undefined);
  if (!ids.includes(target.callbackId) || (tenants.length > 0 && !tenants.includes(target.tenantId)))
    return false;
  if (target.callAttempt === undefined) return true;
  const attempt = attrs.map((a) => a[ATTR.attempt]).find((v) => v !== undefined) ?? '1';
  return attempt === String(target.callAttempt);
}

/** 403 (no permission) or 400 (e.g. "Search not supported"): the org will not answer this the next time either. */
function isRefusal(err: unknown): err is PlatformError {
  return err instanceof PlatformError && (err.httpStatus === 403 || err.httpStatus === 400);
}

export function createCallbackLookup(options: CallbackLookupOptions): CallbackLookup {
  const o = {
    ...LOOKUP_DEFAULTS,
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
  } as typeof LOOKUP_DEFAULTS & CallbackLookupOptions;
  const { genesys, clock } = options;
  const refusedUntil = new Map<LookupStrategy, EpochMs>();

  const isRefused = (s: LookupStrategy, now: EpochMs) => (refusedUntil.get(s) ?? 0) > now;
  function refuse(s: LookupStrategy, err: PlatformError) {
    refusedUntil.set(s, clock.now() + o.unsupportedRetryMs);
    o.onUnsupported?.(s, err);
  }

  async function bySearch(t: LookupTarget, r: LookupReport, opts: CallOptions): Promise<string[]> {
    const to = t.attemptTo + o.marginMs;
    const from = Math.max(t.attemptFrom - o.marginMs, to - SEARCH_MAX_WINDOW_MS);
    const deciding = clock.now() >= r.absentFrom;
    const page = await genesys.searchAttributes(
      from,
      to,
      deciding ? o.searchDecidingMaxPages : o.searchMaxPages,
      opts,
    );
    r.calls += page.pages;
    const found = page.rows.filter((row) => matches(row.attributes, t)).map((row) => row.conversationId);
    r.strategies.search = found.length > 0 ? 'found' : page.complete ? 'none' : 'partial';
    return found;
  }

  async function byDetails(t: LookupTarget, r: LookupReport, opts: CallOptions): Promise<string[]> {
    // Matched by UTC day: one day either side of the attempt's days, well inside the 31-day limit.
    const dayOf = (ms: EpochMs) => Math.floor(ms / DAY_MS) * DAY_MS;
    const from = dayOf(t.attemptFrom - o.marginMs) - DAY_MS;
    const to = Math.min(dayOf(t.attemptTo + o.marginMs) + 2 * DAY_MS - 1, from + 31 * DAY_MS - 1);
    const page = await genesys.findCallbackCandidates(
      {
        queueIds: t.queueIds,
        callbackNumber: t.callbackNumber,
        from,
        to,
        maxPages: o.detailsMaxPages,
      },
      opts,
    );
    r.calls += page.pages;
    // Closest to the attempt first: the likeliest match is read before the bound cuts in.
    const start = (c: PlatformConversation) => {
      const times = [c.startTime, ...c.participants.map((p) => p.startTime)]
        .map((v) => Date.parse(v ?? ''))
        .filter((v) => Number.isFinite(v));
      return times.length > 0 ? Math.min(...times) : Number.MAX_SAFE_INTEGER;
    };
    // A conversation that started well outside the attempt's window cannot be its create.
    const inWindow = (c: PlatformConversation) => {
      const at = start(c);
      return (
        at === Number.MAX_SAFE_INTEGER || (at >= t.attemptFrom - o.marginMs && at <= t.attemptTo + o.marginMs)
      );
    };
    const candidates = [...page.conversations]
      .filter(inWindow)
      .sort((a, b) => Math.abs(start(a) - t.attemptFrom) - Math.abs(start(b) - t.attemptFrom));
    const found: string[] = [];
    for (const c of candidates.slice(0, o.maxCandidateReads)) {
      r.calls++;
      try {
        const full = await genesys.getCallbackConversation(c.id, opts);
        if (
          matches(
            full.participants.map((p) => p.attributes ?? {}),
            t,
          )
        )
          found.push(full.id);
      } catch (err) {
        // Listed by analytics but gone from the platform: nothing there to adopt.
        if (err instanceof PlatformError && err.httpStatus === 404) continue;
        throw err;
      }
      if (found.length > 0) break;
    }
    const complete = page.complete && candidates.length <= o.maxCandidateReads;
    r.strategies.details = found.length > 0 ? 'found' : complete ? 'none' : 'partial';
    return found;
  }

  return {
    unsupported: () => LOOKUP_STRATEGIES.filter((s) => isRefused(s, clock.now())),

    async only(strategy, t, opts = {}) {
      const r: LookupReport = {
        found: [],
        settledBy: null,
        absent: false,
        absentFrom: t.attemptTo,
        strategies: { events: 'not-run', search: 'not-run', details: 'not-run' },
        calls: 0,
      };
      if (strategy === 'events') {
        const seen = (o.events?.find(t.callbackId) ?? []).filter((c) =>
          matches(
            c.participants.map((p) => p.attributes ?? {}),
            t,
          ),
        );
        return { status: seen.length > 0 ? 'found' : 'none', found: seen.map((c) => c.id), calls: 0 };
      }
      const found = await (strategy === 'search' ? bySearch(t, r, opts) : byDetails(t, r, opts));
      return { status: r.strategies[strategy], found, calls: r.calls };
    },

    async lookup(t, opts = {}) {
      const now = clock.now();
      const r: LookupReport = {
        found: [],
        settledBy: null,
        absent: false,
        absentFrom: t.attemptTo + Math.max(o.searchLagMs, o.detailsLagMs),
        strategies: { events: 'not-run', search: 'not-run', details: 'not-run' },
        calls: 0,
      };
      if (o.events) {
        const seen = o.events.find(t.callbackId).filter((c) =>
          matches(
            c.participants.map((p) => p.attributes ?? {}),
            t,
          ),
        );
        r.strategies.events = seen.length > 0 ? 'found' : 'none';
        if (seen.length > 0) {
          r.found = seen.map((c) => c.id);
          r.settledBy = 'events';
          return r;
        }
      }
      // Absence is never proven before every strategy's lag window has passed, run or not.
      const steps: [
        LookupStrategy,
        (t: LookupTarget, r: LookupReport, opts: CallOptions) => Promise<string[]>,
      ][] = [
        ['search', bySearch],
        ['details', byDetails],
      ];
      for (const [name, run] of steps) {
        if (isRefused(name, now)) {
          r.strategies[name] = 'unsupported';
          continue;
        }
        // Calls are bounded per pass, and a pass repeats every few seconds: while a complete search
        // found nothing inside its lag window, the details query (plus a GET per candidate) waits
        // for the pass that decides.
        if (name === 'details' && r.strategies.search === 'none' && now < r.absentFrom) continue;
        try {
          const found = await run(t, r, opts);
          if (found.length > 0) {
            r.found = [...new Set(found)];
            r.settledBy = name;
            return r;
          }
        } catch (err) {
          if (isRefusal(err)) {
            refuse(name, err);
            r.strategies[name] = 'unsupported';
            continue;
          }
          r.strategies[name] = 'failed';
        }
      }
      // Each of search and details, run completely past its lag, is a proof on its own (search
      // covers the attempt's whole window; details every callback of the queues to that number).
      r.absent = steps.some(([name]) => r.strategies[name] === 'none') && now >= r.absentFrom;
      return r;
    },
  };
}
