/**
 * Limits used across layers, in one place so the API, the domain and the config agree.
 * Every name carries its unit.
 */
export const LIMITS = {
  /** Largest request body the API reads (413 above it). */
  maxBodyBytes: 65_536,
  /** timeout when neither the request nor the queue policy sets one. */
  defaultTimeoutSeconds: 300,
  /** Default queue bounds for timeout. */
  minTimeoutSeconds: 30,
  maxTimeoutSeconds: 3_600,
  /** Genesys lets agents schedule callbacks at most 30 days out; no queue may allow more. */
  maxLeadDaysCeiling: 30,
  /** Default queue lead times. */
  defaultMinLeadSeconds: 120,
  defaultMaxLeadDays: 30,
  /** Default legal calling window in the customer's zone, [start, end). */
  defaultCallingWindow: { start: '08:00', end: '21:00' },
  defaultPriority: 0,
  defaultMaxCallbacks: 1_000,
  /** Capacity rejection retries: attempts and the uniform random delay range between them. */
  defaultRejectionRetry: { attempts: 3, delayMinutes: { min: 15, max: 30 } },
  /** Booking: default slot length, how long a hold keeps its unit, how far one slots query may reach. */
  defaultSlotMinutes: 15,
  defaultHoldSeconds: 300,
  maxSlotsRangeDays: 31,
  /** Closures per queue, re-attempts after the first call. */
  maxClosures: 1_000,
  maxReattempts: 10,
  callbackIdMaxLength: 128,
  /** customerData: how many attributes, how long a key and a value may be. */
  maxCustomerDataAttributes: 50,
  maxAttributeKeyLength: 64,
  maxAttributeValueLength: 1_024,
  /** List endpoint paging. */
  listDefaultLimit: 50,
  listMaxLimit: 500,
  /** Default intake rate per API key. */
  defaultRequestsPerMinutePerKey: 600,
  /** Genesys default org rate limit per client-credentials token. */
  genesysRequestsPerMinute: 300,
  genesysRequestTimeoutMs: 10_000,
  /** A client must send its whole request within this; a stalled one is cut off (408) instead of holding a socket. */
  httpRequestTimeoutMs: 30_000,
} as const;

export type Limits = typeof LIMITS;
