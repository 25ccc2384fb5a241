/**
 * What the engine needs from Genesys Cloud. `createGenesysClient` (client.ts) implements it over
 * HTTP; the engine depends only on this interface.
 */
import type { CallbackSpec, EpochMs, Reason } from '../domain/types.js';
import type { AttributeSearchRow } from './conversation-read.js';

export type { AttributeSearchRow };

/**
 * One voice leg (`Call` in GET /api/v2/conversations/{id}, a `voice` session in analytics): the
 * platform places the call to the customer as a separate media inside the callback's conversation.
 */
export interface PlatformCallLeg {
  id?: string;
  state?: string;
  /** inbound | outbound. */
  direction?: string;
  /** When the leg began (alerting/dialling), as far as the source tells. */
  startTime?: string;
  connectedTime?: string;
  disconnectedTime?: string;
  disconnectType?: string;
  errorInfo?: { code?: string; message?: string };
}

/** The platform's conversation, reduced to what callbackd's state mapping reads. */
export interface PlatformParticipant {
  id?: string;
  purpose?: string;
  state?: string;
  disconnectType?: string;
  callbackNumbers?: string[];
  callbackScheduledTime?: string;
  attributes?: Record<string, string>;
  queueId?: string;
  startTime?: string;
  connectedTime?: string;
  endTime?: string;
  wrapupCode?: string;
  /** The wrap-up code's name, when the read carries it (wrapup.code is often the code's id). */
  wrapupName?: string;
  /** Why the platform ended the callback media with an error. */
  errorInfo?: { code?: string; message?: string };
  /** True when this participant holds callback media (state … above are that media's). */
  callbackMedia?: boolean;
  /** Voice legs of this participant (only in reads that carry them: see PlatformConversation.source). */
  calls?: PlatformCallLeg[];
  /** The platform expects a wrap-up from this participant (agent). */
  wrapupRequired?: boolean;
}

/**
 * Where a conversation was read from. Only 'conversation' (GET /api/v2/conversations/{id}) and
 * 'analytics' carry the voice legs; 'callback' (GET …/conversations/callbacks/{id}) and 'event'
 * (queue callback topic) hold the callback media only, so they can say that a conversation ended
 * but not how.
 */
export type ConversationSource = 'conversation' | 'callback' | 'analytics' | 'event';

export interface PlatformConversation {
  id: string;
  participants: PlatformParticipant[];
  /** Absent: treated as 'callback' (callback media only). */
  source?: ConversationSource;
  /** When the conversation started (analytics conversationStart), when the read says. */
  startTime?: string;
}

export interface AttributeSearchPage {
  rows: AttributeSearchRow[];
  complete: boolean;
  /** Requests made. */
  pages: number;
}

export interface CallbackCandidatesQuery {
  queueIds: readonly string[];
  callbackNumber: string;
  from: EpochMs;
  to: EpochMs;
  maxPages: number;
}

export interface CandidatesPage {
  conversations: PlatformConversation[];
  complete: boolean;
  /** Requests made. */
  pages: number;
}

export interface CreatedCallback {
  conversationId: string;
}

/**
 * How a platform call ended when it did not succeed:
 * - `unclear`: the request may or may not have taken effect (timeout, reset after send, 502, 504);
 * - `retryable`: surely not applied and worth retrying later (429/503 after the client's own retries,
 *   a connection refused before sending);
 * - `rejected`: the platform refused it for good (other 4xx), with a reason code.
 */
export type PlatformErrorKind = 'unclear' | 'retryable' | 'rejected';

export interface QueueObservation {
  queueId: string;
  waiting: number;
  interacting: number;
}

export interface CreateCallbackOptions {
  /** Route to another queue than the spec's (capacity overflow). */
  queueId?: string;
  /** Stamped as an attribute so a lookup by callbackId never adopts another tenant's callback. */
  tenantId?: string;
  /** The re-attempt number (2, 3, …), stamped so a lookup adopts only this attempt's callback. */
  attempt?: number;
  /**
   * No attempt (first or retry) may start later than this many ms after the call began, so that
   * every byte is sent while the caller still holds its lease. A retry that would start later
   * fails as `retryable` with code PLATFORM_SEND_WINDOW_CLOSED (nothing more was sent).
   */
  sendWithinMs?: number;
}

export interface GenesysPort {
  /**
   * Not idempotent on the platform: every call makes a new callback. `tenantId` is stamped as an
   * attribute so that a later lookup by callbackId can tell tenants sharing one org apart.
   */
  createCallback(spec: CallbackSpec, opts?: CreateCallbackOptions): Promise<CreatedCallback>;
  getCallbackConversation(conversationId: string): Promise<PlatformConversation>;
  rescheduleCallback(conversationId: string, spec: CallbackSpec): Promise<void>;
  disconnectCallback(conversationId: string): Promise<void>;
  /**
   * The whole conversation (GET /api/v2/conversations/{id}): every participant's callback media,
   * voice legs and wrap-up. What the tracker maps an outcome from.
   */
  getConversation(conversationId: string): Promise<PlatformConversation>;
  /**
   * Participant-attributes search, DATE_RANGE on startTime in [from, to] (at most 24 h), at most
   * maxPages cursor pages. `complete` false when pages were left unread.
   */
  searchAttributes(from: EpochMs, to: EpochMs, maxPages: number): Promise<AttributeSearchPage>;
  /**
   * Analytics details: callback conversations of these queues to this number, started on a UTC day
   * [from, to] touches. No attributes: the caller matches its id by reading each candidate.
   */
  findCallbackCandidates(query: CallbackCandidatesQuery): Promise<CandidatesPage>;
  /**
   * The batch read (analytics conversation details): those of `conversationIds` that analytics
   * already holds, started in [from, to). It lags the live conversation (seconds to minutes) and
   * carries no errorInfo; a conversation too new for analytics is simply absent.
   */
  getConversationsByIds(
    conversationIds: readonly string[],
    from: EpochMs,
    to: EpochMs,
  ): Promise<PlatformConversation[]>;
  queueObservations(queueIds: readonly string[]): Promise<QueueObservation[]>;
  getQueue(queueId: string): Promise<{ id: string; name: string } | undefined>;
  listWrapupCodes(queueId: string): Promise<{ id: string; name: string }[]>;
  listDids(): Promise<string[]>;
}

/** A notification channel: connect a websocket to connectUri before `expires` (ISO instant). */
export interface NotificationChannel {
  id: string;
  connectUri: string;
  expires: string;
}

/** A topic as the platform took it: state `Permitted`, or `Rejected` with a reason. */
export interface SubscribedTopic {
  id: string;
  state?: string;
  rejectionReason?: string;
}

/** The platform's notification service (event mode of tracking, DESIGN.md §4). */
export interface NotificationsPort {
  createNotificationChannel(): Promise<NotificationChannel>;
  /** Adds topics to the channel's subscriptions (those already there stay). */
  subscribe(channelId: string, topics: readonly string[]): Promise<SubscribedTopic[]>;
}

/** The topic carrying every change of the queue's callback conversations. */
export function queueCallbackTopic(queueId: string): string {
  return `v2.routing.queues.${queueId}.conversations.callbacks`;
}

export class PlatformError extends Error {
  constructor(
    readonly kind: PlatformErrorKind,
    readonly reason: Reason,
    readonly httpStatus: number | null,
    /** The platform's Retry-After, when it sent one: the earliest moment a retry is welcome. */
    readonly retryAfterMs?: number,
  ) {
    super(`${reason.code}: ${reason.message}`);
    this.name = 'PlatformError';
  }
}
