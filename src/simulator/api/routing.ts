/** Queues, their wrap-up codes, and the org's DIDs. */
import { ApiError } from '../errors.js';
import { normalizeNumber, type Platform } from '../model.js';
import { ID, type Json, ok, paged, type Route, route, type SimContext } from './http.js';

/** A queue's `mediaSettings.callback` (SDK `CallbackMediaSettings`): the settings the model acts on. */
export function callbackMediaSettings(platform: Platform, queueId: string): Json {
  const s = platform.requireQueue(queueId).def.callback;
  return {
    enableAutoAnswer: false,
    alertingTimeoutSeconds: 30,
    serviceLevel: { percentage: 0.8, durationMs: 20000 },
    autoAnswerAlertToneSeconds: 0,
    manualAnswerAlertToneSeconds: 0,
    mode: s.mode,
    enableAutoDialAndEnd: s.enableAutoDialAndEnd,
    autoDialDelaySeconds: s.autoDialDelaySeconds,
    autoEndDelaySeconds: s.autoEndDelaySeconds,
    pacingModifier: 1,
    maxRetryCount: s.maxRetryCount,
    retryDelaySeconds: s.retryDelaySeconds,
    liveVoiceReactionType: 'TransferToQueue',
    answeringMachineReactionType: 'HangUp',
  };
}

function queueJson(ctx: SimContext, id: string): Json {
  const { org, platform } = ctx;
  const q = platform.queues.get(id);
  if (!q) throw new ApiError(404, 'not.found', `Queue ${id} was not found.`, { queueId: id });
  const created = '2024-01-01T00:00:00.000Z';
  return {
    id,
    name: q.def.name,
    division: {
      id: org.divisionId,
      name: 'Home',
      selfUri: `/api/v2/authorization/divisions/${org.divisionId}`,
    },
    dateCreated: created,
    dateModified: created,
    memberCount: q.agents.length,
    userMemberCount: q.agents.length,
    joinedMemberCount: q.agents.length,
    mediaSettings: {
      call: { alertingTimeoutSeconds: 8, serviceLevel: { percentage: 0.8, durationMs: 20000 } },
      callback: callbackMediaSettings(platform, id),
    },
    routingRules: [],
    bullseye: { rings: [{ expansionCriteria: [] }] },
    acwSettings: { wrapupPrompt: 'MANDATORY_TIMEOUT', timeoutMs: 15000 },
    skillEvaluationMethod: 'ALL',
    autoAnswerOnly: false,
    enableTranscription: false,
    enableManualAssignment: false,
    agentOwnedRouting: {
      enableAgentOwnedCallbacks: false,
      maxOwnedCallbackHours: 1,
      maxOwnedCallbackDelayHours: 720,
    },
    callingPartyName: org.name,
    callingPartyNumber: org.dids.find((d) => d.queueId === id)?.phoneNumber,
    selfUri: `/api/v2/routing/queues/${id}`,
  };
}

export function routingRoutes(ctx: SimContext): Route[] {
  const { org, platform } = ctx;
  return [
    route('GET', '/api/v2/routing/queues', 'listQueues', (c) => {
      const name = c.query.get('name');
      const all = [...platform.queues.keys()]
        .map((id) => queueJson(ctx, id))
        .filter(
          (q) =>
            name === null ||
            String(q['name']).toLowerCase().startsWith(name.replace(/\*$/, '').toLowerCase()),
        );
      return ok(paged(all, '/api/v2/routing/queues', c.query));
    }),
    route('GET', `/api/v2/routing/queues/${ID}`, 'getQueue', (c) => ok(queueJson(ctx, c.params[0]!))),
    route('GET', `/api/v2/routing/queues/${ID}/wrapupcodes`, 'getWrapupCodes', (c) => {
      const id = c.params[0]!;
      const q = platform.queues.get(id);
      if (!q) throw new ApiError(404, 'not.found', `Queue ${id} was not found.`, { queueId: id });
      const name = c.query.get('name');
      const codes = q.def.wrapupCodes
        .filter((w) => name === null || w.name.toLowerCase().startsWith(name.toLowerCase()))
        .map((w) => ({ id: w.id, name: w.name, selfUri: `/api/v2/routing/wrapupcodes/${w.id}` }));
      return ok(paged(codes, `/api/v2/routing/queues/${id}/wrapupcodes`, c.query));
    }),
    route('GET', '/api/v2/telephony/providers/edges/dids', 'listDids', (c) => {
      const phone = c.query.get('phoneNumber');
      const dids = org.dids
        .filter((d) => phone === null || normalizeNumber(d.phoneNumber) === normalizeNumber(phone))
        .map((d) => ({
          id: d.id,
          name: d.phoneNumber,
          state: 'active',
          phoneNumber: d.phoneNumber,
          ownerType: 'IVR',
          selfUri: `/api/v2/telephony/providers/edges/dids/${d.id}`,
        }));
      return ok(paged(dids, '/api/v2/telephony/providers/edges/dids', c.query));
    }),
  ];
}
