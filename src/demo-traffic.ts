/**
 * `npm start` in simulator mode (serve --demo): a first start with an empty demo tenant schedules a
 * handful of demo callbacks a few minutes ahead, so the dashboard shows them move through their
 * states on the simulator (answered → completed, unanswered → expired, one left for later). They go
 * through the same intake as the API; nothing is seeded against a real org.
 */
import type { Logger } from 'pino';
import type { CallbackdConfig } from './config/schema.js';
import { ERROR_CODES } from './domain/errors.js';
import { acceptCallback, type IntakeDeps } from './usecases/accept.js';

interface DemoCall {
  externalId: string;
  firstName: string;
  lastName: string;
  number: string;
  minutesAhead: number;
}

/** The simulator's demo numbers (src/simulator/README.md): Marcus answers, 0101 never does, 0103 is busy. */
export const DEMO_CALLS: readonly DemoCall[] = [
  {
    externalId: 'CRM-998271',
    firstName: 'Marcus',
    lastName: 'Vance',
    number: '+14155552671',
    minutesAhead: 3,
  },
  {
    externalId: 'CRM-DEMO-0101',
    firstName: 'Nora',
    lastName: 'Noanswer',
    number: '+14155550101',
    minutesAhead: 4,
  },
  {
    externalId: 'CRM-DEMO-0103',
    firstName: 'Bea',
    lastName: 'Busy',
    number: '+14155550103',
    minutesAhead: 5,
  },
  {
    externalId: 'CRM-998271',
    firstName: 'Marcus',
    lastName: 'Vance',
    number: '+14155552671',
    minutesAhead: 7,
  },
  {
    externalId: 'CRM-998271',
    firstName: 'Marcus',
    lastName: 'Vance',
    number: '+14155552671',
    minutesAhead: 90,
  },
];

/**
 * The demo's customers join the config's built-in trusted records (simulator mode with --demo only),
 * so the unanswered and busy demo numbers pass the trusted-number rule like any customer's.
 */
export function withDemoCustomers(config: CallbackdConfig): CallbackdConfig {
  if (config.customers.source !== 'builtin') return config;
  const known = new Set(config.customers.records.map((r) => r.externalId));
  const extra = DEMO_CALLS.filter(
    (c, i, all) => !known.has(c.externalId) && all.findIndex((o) => o.externalId === c.externalId) === i,
  ).map((c) => ({
    externalId: c.externalId,
    firstName: c.firstName,
    lastName: c.lastName,
    numbers: [c.number],
  }));
  return { ...config, customers: { ...config.customers, records: [...config.customers.records, ...extra] } };
}

const WAIT_FOR_WINDOW = new Set<string>([ERROR_CODES.OUTSIDE_CALLING_WINDOW, ERROR_CODES.OUTSIDE_OPEN_HOURS]);
/** A day of 15-minute steps: enough to reach the next calling window from any hour. */
const MAX_STEPS = 96;

export async function seedDemoCallbacks(
  deps: IntakeDeps & { queueId: string; wrapUpCode: string; did: string; log: Logger },
  tenantId: string,
): Promise<number> {
  const existing = await deps.store.list(tenantId, {}, null, 1);
  if (existing.items.length > 0) return 0;
  let made = 0;
  for (const [i, call] of DEMO_CALLS.entries()) {
    // Outside the customer's calling window (a night-time start) the demo waits for the morning.
    for (let step = 0; step < MAX_STEPS; step++) {
      const at = deps.clock.now() + (call.minutesAhead + step * 15) * 60_000;
      const answer = await acceptCallback(deps, tenantId, {
        callbackId: `demo-${i + 1}-${new Date(at).toISOString().replace(/[-:.]/g, '').slice(0, 13)}`,
        callbackNumber: call.number,
        callbackFrom: deps.did,
        callbackTo: deps.did,
        scheduledTime: new Date(Math.ceil(at / 60_000) * 60_000).toISOString(),
        routingData: { queueId: deps.queueId, priority: 5, wrapUpCode: deps.wrapUpCode },
        mediaType: 'voice',
        customerData: { externalId: call.externalId, firstName: call.firstName, lastName: call.lastName },
      });
      if (answer.outcome === 'created') {
        made++;
        break;
      }
      if (answer.outcome !== 'refused' || !answer.violations.every((v) => WAIT_FOR_WINDOW.has(v.code))) {
        deps.log.warn(
          { outcome: answer.outcome, errors: 'violations' in answer ? answer.violations : [] },
          'demo callback not scheduled',
        );
        break;
      }
    }
  }
  deps.log.info({ callbacks: made }, 'demo callbacks scheduled on the simulator (serve --demo)');
  return made;
}
