/** The analytics endpoints (the queries themselves live in ../analytics.ts). */
import {
  conversationDetailsByIds,
  conversationDetailsQuery,
  indexProperties,
  queueObservationsQuery,
} from '../analytics.js';
import { ApiError } from '../errors.js';
import { participantAttributesSearch } from '../search.js';
import { ID, ok, type Route, route, type SimContext } from './http.js';

export function analyticsRoutes(ctx: SimContext): Route[] {
  const { platform, scheduler, settings } = ctx;
  return [
    route('POST', '/api/v2/analytics/queues/observations/query', 'queueObservations', (c) =>
      ok(queueObservationsQuery(platform, c.json())),
    ),
    route('POST', '/api/v2/analytics/conversations/details/query', 'conversationDetails', (c) =>
      ok(conversationDetailsQuery(platform, c.json(), scheduler.now(), settings.analyticsLagMs)),
    ),
    route('GET', '/api/v2/analytics/conversations/details', 'conversationDetailsById', (c) =>
      ok(conversationDetailsByIds(platform, c.query.getAll('id'), scheduler.now(), settings.analyticsLagMs)),
    ),
    route('POST', `/api/v2/analytics/conversations/${ID}/details/properties`, 'indexProperties', (c) =>
      ok(indexProperties(platform, c.params[0]!, c.json()), 202),
    ),
    route('POST', '/api/v2/conversations/participants/attributes/search', 'attributesSearch', (c) => {
      if (!settings.searchAllowed) {
        throw new ApiError(
          403,
          'missing.permissions',
          'Missing permission conversation:participant:attributesview (the simulator has search forbidden).',
        );
      }
      return ok(participantAttributesSearch(platform, c.json(), scheduler.now(), settings.searchLagMs));
    }),
  ];
}
