/**
 * The embedded default configuration (DESIGN.md §6's demo), so a built dist runs without
 * config/default.yaml. Keep the two equal; test/config checks they are.
 */
import { DEFAULT_CRM_STATUS } from '../domain/lifecycle.js';
import type { CallbackdConfigInput } from './schema.js';

export const SUPPORT_QUEUE_ID = 'a1b2c3d4-e5f6-7890-abcd-ef1234567890';
export const BILLING_QUEUE_ID = 'b2c3d4e5-f6a7-8901-bcde-f12345678901';
export const DEMO_CUSTOMER_EXTERNAL_ID = 'CRM-998271';

const timeoutSeconds = { min: 30, max: 3600, default: 300 };
const rejectionRetry = { attempts: 3, delayMinutes: { min: 15, max: 30 } };
const callingWindow = { start: '08:00', end: '21:00' };
/** What the demo org's wrap-up codes mean (the simulator's agents pick them after each attempt). */
const wrapUpOutcomes = {
  NO_ANSWER: { status: 'expired', unreached: 'noAnswer' },
  BUSY: { status: 'expired', unreached: 'busy' },
  VOICEMAIL: { status: 'expired', unreached: 'voicemail' },
  CALL_FAILED: { status: 'rejected', reason: 'PLATFORM_REJECTED' },
  // Set by a flow that refuses a callback for capacity: resubmitted per rejectionRetry.
  QUEUE_FULL: { status: 'rejected', reason: 'QUEUE_FULL' },
} as const;

export function defaultConfigInput(): CallbackdConfigInput {
  // A fresh object per call: callers (and the merge) may mutate it.
  return {
    server: { host: '127.0.0.1', port: 8080 },
    ledger: { url: './data/callbackd.db' },
    genesys: { requestsPerMinute: 300, requestTimeoutMs: 10000 },
    queues: {
      [SUPPORT_QUEUE_ID]: {
        name: 'Support',
        minLeadSeconds: 120,
        maxLeadDays: 30,
        openHours: {
          timeZone: 'America/New_York',
          weekly: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '00:00', end: '24:00' }],
        },
        callingWindow: { ...callingWindow },
        maxCallbacks: 1000,
        verification: 'none',
        wrapUpCodes: ['PROGRAMMATIC_CALLBACK', 'RESOLVED'],
        wrapUpOutcomes: { ...wrapUpOutcomes },
        defaultPriority: 0,
        timeoutSeconds: { ...timeoutSeconds },
        dids: [{ number: '+18005551234', sameFromTo: false }],
        rejectionRetry: { ...rejectionRetry, delayMinutes: { ...rejectionRetry.delayMinutes } },
      },
      [BILLING_QUEUE_ID]: {
        name: 'Billing',
        minLeadSeconds: 120,
        maxLeadDays: 30,
        openHours: {
          timeZone: 'America/New_York',
          weekly: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' }],
        },
        callingWindow: { ...callingWindow },
        maxCallbacks: 5,
        overflowQueueId: SUPPORT_QUEUE_ID,
        verification: 'dtmf',
        wrapUpCodes: ['PROGRAMMATIC_CALLBACK', 'BILLING_FOLLOW_UP'],
        wrapUpOutcomes: { ...wrapUpOutcomes },
        defaultPriority: 0,
        timeoutSeconds: { ...timeoutSeconds },
        dids: [{ number: '+18005551235', sameFromTo: true }],
        rejectionRetry: { ...rejectionRetry, delayMinutes: { ...rejectionRetry.delayMinutes } },
        // One open callback per customer: a second request is 409 ACTIVE_CALLBACK_EXISTS (or replaceActive).
        perCustomer: 'one',
      },
    },
    customers: {
      source: 'builtin',
      records: [
        {
          externalId: DEMO_CUSTOMER_EXTERNAL_ID,
          firstName: 'Marcus',
          lastName: 'Vance',
          numbers: ['+14155552671'],
        },
      ],
    },
    crm: {
      statusMap: { ...DEFAULT_CRM_STATUS },
    },
    tracking: { pollIntervalMs: 5000, sweepIntervalMs: 60000, recentWindowMs: 300000 },
    intake: { requestsPerMinutePerKey: 600 },
    amqp: { exchange: 'callbackd.events' },
  };
}
