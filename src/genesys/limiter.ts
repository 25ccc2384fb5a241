/**
 * The seam every platform call passes before it is sent (contracts item 3): the in-process token
 * bucket (rate-limit.ts) for one instance, the PostgreSQL-backed shared budget (src/cluster) for a
 * cluster. acquire resolves true when the request may go now; false when the signal aborted the
 * wait, or when the slot would come later than maxWaitMs (then no slot is taken); it rejects when
 * the budget cannot be consulted (nothing may then be sent).
 */
export interface RequestLimiter {
  acquire(signal?: AbortSignal, maxWaitMs?: number): Promise<boolean>;
}
