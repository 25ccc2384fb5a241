/**
 * Changes made on the platform rather than through callbackd: in agent-first mode an agent whose
 * customer did not answer "manually reschedules" the callback, and supervisors move callbacks
 * between queues in Genesys's own UI (GENESYS.md). The tracker records them so the ledger, the
 * resource and the CRM follow the platform instead of silently disagreeing with it.
 */
import { ERROR_CODES } from '../domain/errors.js';
import type { CallbackSpec, Reason } from '../domain/types.js';
import type { PlatformConversation } from './port.js';
import { platformSchedule } from './state-map.js';

export interface PlatformChange {
  spec: CallbackSpec;
  reason: Reason;
}

/**
 * What the platform holds that differs from the ledger's spec, as the spec to record and a history
 * reason naming the source; null when nothing differs. A move to a queue callbackd has no policy
 * for is named alongside a time change but never written into the spec (it must keep a configured
 * queue), and alone it is not recorded; a move to the queue's own overflow is callbackd's doing.
 */
export function platformChange(
  rec: { spec: CallbackSpec },
  conversation: PlatformConversation,
  policies: (queueId: string) => { overflowQueueId?: string } | undefined,
): PlatformChange | null {
  const held = platformSchedule(conversation);
  const changes: string[] = [];
  let spec = rec.spec;
  const heldMs = held.scheduledTime !== undefined ? Date.parse(held.scheduledTime) : Number.NaN;
  if (Number.isFinite(heldMs) && heldMs !== Date.parse(rec.spec.scheduledTime)) {
    const scheduledTime = new Date(heldMs).toISOString();
    changes.push(`callbackScheduledTime ${rec.spec.scheduledTime} → ${scheduledTime}`);
    spec = { ...spec, scheduledTime };
  }
  const ours = rec.spec.routingData.queueId;
  if (
    held.queueId !== undefined &&
    held.queueId !== ours &&
    held.queueId !== policies(ours)?.overflowQueueId
  ) {
    if (policies(held.queueId)) {
      changes.push(`queue ${ours} → ${held.queueId}`);
      spec = { ...spec, routingData: { ...spec.routingData, queueId: held.queueId } };
    } else {
      changes.push(`queue ${ours} → ${held.queueId} (not a configured queue; the resource keeps ${ours})`);
    }
  }
  // Nothing the spec can follow: recording it would repeat on every read.
  if (changes.length === 0 || spec === rec.spec) return null;
  return {
    spec,
    reason: {
      code: ERROR_CODES.CHANGED_ON_PLATFORM,
      message: `changed on the platform (an agent or supervisor): ${changes.join('; ')}`,
    },
  };
}
