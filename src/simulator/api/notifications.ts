/** Notification channels and their subscriptions (the channels themselves live in ../notifications.ts). */
import { notFound } from '../errors.js';
import { ID, ok, type Route, route, type SimContext } from './http.js';

const CH = '/api/v2/notifications/channels';

export function notificationRoutes(ctx: SimContext): Route[] {
  const n = ctx.notifications;
  return [
    route('POST', CH, 'createChannel', (c) => ok(n.create(c.clientId))),
    route('GET', CH, 'listChannels', (c) => ok(n.list(c.clientId))),
    route('HEAD', `${CH}/${ID}`, 'headChannel', (c) => {
      if (!n.exists(c.params[0]!, c.clientId)) throw notFound('Channel not found.');
      return { status: 200 };
    }),
    route('GET', `${CH}/${ID}/subscriptions`, 'getSubscriptions', (c) =>
      ok(n.topics(c.params[0]!, c.clientId)),
    ),
    route('POST', `${CH}/${ID}/subscriptions`, 'subscribe', (c) =>
      ok(n.subscribe(c.params[0]!, c.clientId, c.json(), false, c.query.get('ignoreErrors') === 'true')),
    ),
    route('PUT', `${CH}/${ID}/subscriptions`, 'replaceSubscriptions', (c) =>
      ok(n.subscribe(c.params[0]!, c.clientId, c.json(), true, c.query.get('ignoreErrors') === 'true')),
    ),
    route('DELETE', `${CH}/${ID}/subscriptions`, 'deleteSubscriptions', (c) => {
      n.unsubscribeAll(c.params[0]!, c.clientId);
      return { status: 200 };
    }),
  ];
}
