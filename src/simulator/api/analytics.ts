/** The analytics endpoints (the queries themselves live in ../analytics.ts). */
import { conversationDetailsQuery, queueObservationsQuery } from '../analytics.js';
import { ok, type Route, route, type SimContext } from './http.js';

export function analyticsRoutes(ctx: SimContext): Route[] {
  const { platform, scheduler, settings } = ctx;
  return [
    route('POST', '/api/v2/analytics/queues/observations/query', 'queueObservations', (c) =>
      ok(queueObservationsQuery(platform, c.json())),
    ),
    route('POST', '/api/v2/analytics/conversations/details/query', 'conversationDetails', (c) =>
      ok(conversationDetailsQuery(platform, c.json(), scheduler.now(), settings.analyticsLagMs)),
    ),
  ];
}
