/**
 * Wire compatibility: Genesys's own JavaScript SDK drives the simulator. If the SDK cannot use
 * it, the simulator is wrong.
 */
import { createRequire } from 'node:module';
import type { Models } from 'purecloud-platform-client-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  BILLING_QUEUE_ID,
  DEMO_CLIENT_ID,
  DEMO_CLIENT_SECRET,
  type Simulator,
  SUPPORT_QUEUE_ID,
  startSimulator,
} from '../../src/simulator/index.js';
import { type Json, START } from './helpers.js';

interface SdkClient {
  setGateway(g: { host: string; protocol?: string; port?: number }): void;
  loginClientCredentialsGrant(id: string, secret: string): Promise<{ accessToken: string }>;
  setAccessToken(token: string): void;
}
interface Sdk {
  ApiClient: { instance: SdkClient };
  ConversationsApi: new () => {
    postConversationsCallbacks(body: Models.CreateCallbackCommand): Promise<Models.CreateCallbackResponse>;
    getConversationsCallback(id: string): Promise<Models.CallbackConversation>;
    patchConversationsCallbacks(body: Models.PatchCallbackRequest): Promise<Models.PatchCallbackResponse>;
    patchConversationsCallback(id: string, body: Models.Conversation): Promise<Models.Conversation>;
    postConversationsCallbacksBulkDisconnect(body: Models.BulkCallbackDisconnectRequest): Promise<void>;
    getConversation(id: string): Promise<Models.Conversation>;
    postConversationsParticipantsAttributesSearch(
      body: Models.ConversationParticipantSearchRequest,
    ): Promise<Models.JsonCursorSearchResponse>;
  };
  RoutingApi: new () => {
    getRoutingQueue(id: string): Promise<Models.Queue>;
    getRoutingQueueWrapupcodes(
      id: string,
      opts?: { pageSize?: number },
    ): Promise<Models.WrapupCodeEntityListing>;
  };
  AnalyticsApi: new () => {
    postAnalyticsQueuesObservationsQuery(
      body: Models.QueueObservationQuery,
    ): Promise<Models.QueueObservationQueryResponse>;
    postAnalyticsConversationsDetailsQuery(
      body: Models.ConversationQuery,
    ): Promise<Models.AnalyticsConversationQueryResponse>;
    getAnalyticsConversationsDetails(opts: {
      id: string[];
    }): Promise<Models.AnalyticsConversationWithoutAttributesMultiGetResponse>;
    postAnalyticsConversationDetailsProperties(
      conversationId: string,
      body: Models.PropertyIndexRequest,
    ): Promise<Models.PropertyIndexRequest>;
  };
  NotificationsApi: new () => {
    postNotificationsChannels(): Promise<Models.Channel>;
    postNotificationsChannelSubscriptions(
      channelId: string,
      body: Models.ChannelTopic[],
      opts?: { ignoreErrors?: boolean },
    ): Promise<Models.ChannelTopicEntityListing>;
  };
  TelephonyProvidersEdgeApi: new () => {
    getTelephonyProvidersEdgesDids(opts?: { phoneNumber?: string }): Promise<Models.DIDEntityListing>;
  };
}

const platformClient = createRequire(import.meta.url)('purecloud-platform-client-v2') as Sdk;
const client = platformClient.ApiClient.instance;

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ startTime: START, analyticsLagMs: 2000 });
  const port = Number(new URL(sim.url).port);
  client.setGateway({ host: '127.0.0.1', protocol: 'http', port });
  await client.loginClientCredentialsGrant(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET);
});
afterAll(async () => {
  await sim.close();
});

const body: Models.CreateCallbackCommand = {
  routingData: { queueId: SUPPORT_QUEUE_ID, priority: 5 },
  callbackNumbers: ['+14155552671'],
  callbackUserName: 'Marcus Vance',
  callbackScheduledTime: '2024-06-15T16:00:00.000Z',
  callerId: '+18005551234',
  data: { callbackId: 'cb-CRM-998271-20240615T160000Z', dtmf: '4', timeoutSeconds: '120' },
};

describe('the official SDK against the simulator', () => {
  it('logs in, creates, reads, reschedules and disconnects a callback', async () => {
    const conversations = new platformClient.ConversationsApi();
    const created = await conversations.postConversationsCallbacks(body);
    expect(created.conversation.id).toBeTruthy();
    expect(created.callbackIdentifiers[0]?.type).toBe('ACD');
    const id = created.conversation.id!;

    const conv = await conversations.getConversationsCallback(id);
    const customer = conv.participants?.find((p) => p.purpose === 'customer');
    expect(customer?.attributes?.['callbackId']).toBe('cb-CRM-998271-20240615T160000Z');
    expect(customer?.callbackScheduledTime).toBe('2024-06-15T16:00:00.000Z');

    const patched = await conversations.patchConversationsCallbacks({
      conversationId: id,
      agentId: '',
      callbackScheduledTime: '2024-06-15T17:00:00.000Z',
    });
    expect(patched.conversation.id).toBe(id);
    const moved = await conversations.getConversationsCallback(id);
    expect(moved.participants?.find((p) => p.purpose === 'customer')?.callbackScheduledTime).toBe(
      '2024-06-15T17:00:00.000Z',
    );

    const ended = await conversations.patchConversationsCallback(id, {
      state: 'disconnected',
    } as Models.Conversation);
    expect(ended.id).toBe(id);
    const after = await conversations.getConversationsCallback(id);
    expect(after.participants?.find((p) => p.purpose === 'customer')?.disconnectType).toBe('client');
  });

  it('bulk-disconnects through the SDK', async () => {
    const conversations = new platformClient.ConversationsApi();
    const created = await conversations.postConversationsCallbacks(body);
    await conversations.postConversationsCallbacksBulkDisconnect({
      callbackDisconnectIdentifiers: [
        { conversationId: created.conversation.id!, callbackId: created.callbackIdentifiers[0]!.id },
      ],
    });
    const conv = await conversations.getConversationsCallback(created.conversation.id!);
    expect(conv.participants?.find((p) => p.purpose === 'customer')?.state).toBe('disconnected');
  });

  it('reads the queue, its wrap-up codes and the DIDs', async () => {
    const routing = new platformClient.RoutingApi();
    const queue = await routing.getRoutingQueue(SUPPORT_QUEUE_ID);
    expect(queue.name).toBe('Support');
    expect(queue.mediaSettings?.callback?.mode).toBe('AgentFirst');
    const codes = await routing.getRoutingQueueWrapupcodes(SUPPORT_QUEUE_ID, { pageSize: 100 });
    expect(codes.entities?.map((c) => c.name)).toContain('PROGRAMMATIC_CALLBACK');
    const dids = await new platformClient.TelephonyProvidersEdgeApi().getTelephonyProvidersEdgesDids({
      phoneNumber: '+18005551234',
    });
    expect(dids.entities?.[0]?.phoneNumber).toBe('+18005551234');
  });

  it('runs the observations and conversation details queries', async () => {
    const analytics = new platformClient.AnalyticsApi();
    const obs = await analytics.postAnalyticsQueuesObservationsQuery({
      filter: {
        type: 'and',
        predicates: [
          { dimension: 'queueId', value: SUPPORT_QUEUE_ID },
          { dimension: 'mediaType', value: 'callback' },
        ],
      },
      metrics: ['oWaiting', 'oInteracting', 'oOnQueueUsers'],
    });
    const waiting = obs.results?.flatMap((r) => r.data ?? []).find((d) => d.metric === 'oWaiting')
      ?.stats?.count;
    expect(typeof waiting).toBe('number');

    const created = await new platformClient.ConversationsApi().postConversationsCallbacks({
      ...body,
      data: { callbackId: 'sdk-details' },
    });
    const query: Models.ConversationQuery = {
      interval: '2024-06-15T00:00:00.000Z/2024-06-16T00:00:00.000Z',
      segmentFilters: [
        {
          type: 'and',
          predicates: [
            { type: 'property', propertyType: 'string', property: 'callbackId', value: 'sdk-details' },
          ],
        },
      ],
      paging: { pageSize: 25, pageNumber: 1 },
    };
    expect((await analytics.postAnalyticsConversationsDetailsQuery(query)).totalHits).toBe(0);
    sim.clock.advanceMs(2000);
    // As on the platform, a property predicate matches indexed segment properties, never `data`.
    expect((await analytics.postAnalyticsConversationsDetailsQuery(query)).totalHits).toBe(0);
    const convId = created.conversation!.id!;
    const byId = await analytics.getAnalyticsConversationsDetails({ id: [convId] });
    expect(byId.conversations?.map((c) => c.conversationId)).toEqual([convId]);
    const callbackSession = byId.conversations?.[0]?.participants
      ?.find((p) => p.purpose === 'customer')
      ?.sessions?.find((x) => x.mediaType === 'callback');
    expect(callbackSession?.segments?.[0]?.segmentType).toBe('scheduled');
    await analytics.postAnalyticsConversationDetailsProperties(convId, {
      sessionId: callbackSession!.sessionId!,
      targetDate: '2024-06-15T15:00:00.000Z',
      properties: [{ property: 'callbackId', propertyType: 'string', value: 'sdk-details' }],
    });
    const found = await analytics.postAnalyticsConversationsDetailsQuery(query);
    expect(found.conversations?.map((c) => c.conversationId)).toEqual([convId]);

    sim.clock.advanceMs(3000); // the search's own lag (searchLagMs, 5 s by default)
    const search = await new platformClient.ConversationsApi().postConversationsParticipantsAttributesSearch({
      query: [
        {
          type: 'DATE_RANGE',
          fields: ['startTime'],
          startValue: '2024-06-15T14:00:00.000Z',
          endValue: '2024-06-15T16:00:00.000Z',
        },
      ],
    });
    const rows = search.results as { conversationId: string; participantData: Json[] }[];
    const mine = rows.find((r) => r.conversationId === convId);
    expect(mine?.participantData[0]?.['participantAttributes']).toEqual({ callbackId: 'sdk-details' });
    const full = await new platformClient.ConversationsApi().getConversation(convId);
    expect(full.participants.map((p) => p.purpose)).toEqual(['customer', 'acd']);
    expect(full.participants[0]?.callbacks?.[0]?.callbackScheduledTime).toBe('2024-06-15T16:00:00.000Z');
  });

  it('creates a notification channel whose websocket carries queue callback events', async () => {
    const notifications = new platformClient.NotificationsApi();
    const channel = await notifications.postNotificationsChannels();
    expect(channel.connectUri).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/channels\//);
    expect(Date.parse(channel.expires!)).toBeGreaterThan(sim.clock.now());
    const topic = `v2.routing.queues.${SUPPORT_QUEUE_ID}.conversations.callbacks`;
    const subs = await notifications.postNotificationsChannelSubscriptions(channel.id!, [{ id: topic }]);
    expect(subs.entities?.[0]?.id).toBe(topic);

    const ws = new WebSocket(channel.connectUri!);
    const messages: { topicName: string; eventBody: { id?: string } }[] = [];
    ws.on('message', (d) => messages.push(JSON.parse(String(d))));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const created = await new platformClient.ConversationsApi().postConversationsCallbacks(body);
    const deadline = Date.now() + 5000;
    while (!messages.some((m) => m.eventBody.id === created.conversation.id) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(messages.find((m) => m.eventBody.id === created.conversation.id)?.topicName).toBe(topic);
    ws.close();
  });

  it('fails a subscribe with a forbidden topic unless the SDK passes ignoreErrors', async () => {
    const notifications = new platformClient.NotificationsApi();
    const channel = await notifications.postNotificationsChannels();
    const allowed = `v2.routing.queues.${SUPPORT_QUEUE_ID}.conversations.callbacks`;
    const forbidden = `v2.routing.queues.${BILLING_QUEUE_ID}.conversations.callbacks`;
    sim.control.setForbiddenTopics([forbidden]);
    try {
      const topics = [{ id: allowed }, { id: forbidden }];
      const err = await notifications
        .postNotificationsChannelSubscriptions(channel.id!, topics)
        .catch((e) => e);
      expect(err).toMatchObject({ status: 403 });
      const ok = await notifications.postNotificationsChannelSubscriptions(channel.id!, topics, {
        ignoreErrors: true,
      });
      expect(ok.entities?.map((e) => e.state)).toEqual(['Permitted', 'Rejected']);
    } finally {
      sim.control.setForbiddenTopics([]);
    }
  });

  it("surfaces the simulator's refusals as Genesys ErrorBody objects", async () => {
    const conversations = new platformClient.ConversationsApi();
    const bad = await conversations
      .postConversationsCallbacks({
        ...body,
        callbackNumbers: undefined,
      } as unknown as Models.CreateCallbackCommand)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(bad).toMatchObject({ status: 400, code: 'bad.request' });
    client.setAccessToken('not-a-token');
    const unauth = await new platformClient.RoutingApi().getRoutingQueue(SUPPORT_QUEUE_ID).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(unauth).toMatchObject({ status: 401 });
    await client.loginClientCredentialsGrant(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET);
  });

  it('refuses a wrong secret at login', async () => {
    await expect(client.loginClientCredentialsGrant(DEMO_CLIENT_ID, 'wrong')).rejects.toBeTruthy();
    await client.loginClientCredentialsGrant(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET);
  });
});
