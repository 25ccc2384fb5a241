import type { CallbackSpec } from '../../src/domain/types.js';

/** The guide's own example, normalised. */
export function exampleSpec(overrides: Partial<CallbackSpec> = {}): CallbackSpec {
  return {
    callbackId: 'cb-CRM-998271-20300615T160000Z',
    callbackNumber: '+14155552671',
    callbackFrom: '+18005551234',
    callbackTo: '+18005551234',
    scheduledTime: '2030-06-15T16:00:00.000Z',
    timeout: 300,
    routingData: {
      queueId: 'a1b2c3d4-e5f6-7890-abcd-ef1234567890',
      priority: 5,
      wrapUpCode: 'PROGRAMMATIC_CALLBACK',
    },
    mediaType: 'voice',
    customerData: { externalId: 'CRM-998271', firstName: 'Marcus', lastName: 'Vance' },
    ...overrides,
  };
}
