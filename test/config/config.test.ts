import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  BILLING_QUEUE_ID,
  ConfigError,
  defaultConfigInput,
  genesysEndpoints,
  ledgerKind,
  loadConfig,
  SUPPORT_QUEUE_ID,
} from '../../src/config/index.js';

const dir = mkdtempSync(join(tmpdir(), 'callbackd-config-'));
let n = 0;
function file(content: string, ext = 'yaml'): string {
  const path = join(dir, `c${n++}.${ext}`);
  writeFileSync(path, content);
  return path;
}

function problemsOf(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('default configuration', () => {
  it('config/default.yaml and the embedded default are the same', () => {
    const yaml = parseYaml(readFileSync(new URL('../../config/default.yaml', import.meta.url), 'utf8'));
    expect(yaml).toEqual(defaultConfigInput());
    expect(
      loadConfig({ file: new URL('../../config/default.yaml', import.meta.url).pathname, env: {} }),
    ).toEqual(loadConfig({ env: {} }));
  });

  it('holds the DESIGN.md §6 demo', () => {
    const c = loadConfig({ env: {} });
    expect(c.server).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(c.ledger.url).toBe('./data/callbackd.db');
    expect(genesysEndpoints(c.genesys)).toEqual({ mode: 'simulator' });
    const support = c.queues[SUPPORT_QUEUE_ID];
    expect(support).toMatchObject({
      name: 'Support',
      minLeadSeconds: 120,
      maxLeadDays: 30,
      openHours: { timeZone: 'America/New_York' },
      verification: 'none',
      maxCallbacks: 1000,
      dids: [{ number: '+18005551234' }],
    });
    expect(support?.wrapUpCodes).toContain('PROGRAMMATIC_CALLBACK');
    expect(c.queues[BILLING_QUEUE_ID]).toMatchObject({
      name: 'Billing',
      verification: 'dtmf',
      maxCallbacks: 5,
      overflowQueueId: SUPPORT_QUEUE_ID,
      openHours: { weekly: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' }] },
    });
    expect(c.customers.records).toEqual([
      { externalId: 'CRM-998271', firstName: 'Marcus', lastName: 'Vance', numbers: ['+14155552671'] },
    ]);
  });
});

describe('dashboard.promiseWindowMinutes', () => {
  it('defaults to 5, takes a file value, and refuses 0', () => {
    expect(loadConfig({ env: {} }).dashboard.promiseWindowMinutes).toBe(5);
    expect(loadConfig({ file: file('dashboard: {promiseWindowMinutes: 10}'), env: {} }).dashboard).toEqual({
      promiseWindowMinutes: 10,
    });
    const problems = problemsOf(() =>
      loadConfig({ file: file('dashboard: {promiseWindowMinutes: 0}'), env: {} }),
    );
    expect(problems.map((x) => x.key)).toEqual(['dashboard.promiseWindowMinutes']);
  });
});

describe('environment overrides', () => {
  it('sets the keys DESIGN.md §6 names', () => {
    const c = loadConfig({
      env: {
        PORT: '0',
        CALLBACKD_DB: 'postgres://cb:pw@127.0.0.1:5432/cb',
        CALLBACKD_AMQP_URL: 'amqp://127.0.0.1',
        GENESYS_BASE_URL: 'http://127.0.0.1:9000',
        GENESYS_CLIENT_ID: 'id',
        GENESYS_CLIENT_SECRET: 'secret',
        CALLBACKD_CRM_WEBHOOK_URL: 'http://127.0.0.1:9100/hook',
        CALLBACKD_CRM_WEBHOOK_SECRET: 'a-secret-of-sixteen-chars',
      },
    });
    expect(c.server.port).toBe(0);
    expect(ledgerKind(c.ledger.url)).toBe('postgres');
    expect(c.amqp.url).toBe('amqp://127.0.0.1');
    expect(c.crm.webhookUrl).toBe('http://127.0.0.1:9100/hook');
    // GENESYS_LOGIN_URL defaults to GENESYS_BASE_URL
    expect(genesysEndpoints(c.genesys)).toEqual({
      mode: 'platform',
      apiUrl: 'http://127.0.0.1:9000',
      loginUrl: 'http://127.0.0.1:9000',
      clientId: 'id',
      clientSecret: 'secret',
    });
  });

  it('derives the hosts from GENESYS_REGION', () => {
    const c = loadConfig({
      env: { GENESYS_REGION: 'mypurecloud.ie', GENESYS_CLIENT_ID: 'id', GENESYS_CLIENT_SECRET: 's' },
    });
    expect(genesysEndpoints(c.genesys)).toMatchObject({
      apiUrl: 'https://api.mypurecloud.ie',
      loginUrl: 'https://login.mypurecloud.ie',
    });
  });

  it('env wins over the file, which wins over the default', () => {
    const f = file('server:\n  port: 9000\n  host: 0.0.0.0\n');
    expect(loadConfig({ file: f, env: {} }).server).toEqual({ host: '0.0.0.0', port: 9000 });
    expect(loadConfig({ file: f, env: { PORT: '9001' } }).server).toEqual({ host: '0.0.0.0', port: 9001 });
    expect(loadConfig({ env: { CALLBACKD_CONFIG: f } }).server.port).toBe(9000);
  });
});

describe('config files', () => {
  it('reads JSON as well as YAML, and a file’s queues replace the demo queues', () => {
    const f = file(
      JSON.stringify({
        queues: {
          q1: { name: 'Only', openHours: { timeZone: 'Europe/London' }, dids: [{ number: '+442079460958' }] },
        },
      }),
      'json',
    );
    const c = loadConfig({ file: f, env: {} });
    expect(Object.keys(c.queues)).toEqual(['q1']);
    expect(c.queues.q1).toMatchObject({
      minLeadSeconds: 120,
      callingWindow: { start: '08:00', end: '21:00' },
    });
    // other sections keep the defaults
    expect(c.customers.records).toHaveLength(1);
  });
});

describe('errors name the key, the value and what is accepted', () => {
  const cases = [
    [
      'PORT not a number',
      {},
      { PORT: 'eighty' },
      'PORT (server.port)',
      '"eighty"',
      'a whole number from 0 to 65535',
    ],
    [
      'PORT out of range',
      {},
      { PORT: '70000' },
      'PORT (server.port)',
      '70000',
      'a whole number from 0 to 65535',
    ],
    [
      'ledger scheme',
      {},
      { CALLBACKD_DB: 'mysql://u:pw@h/db' },
      'CALLBACKD_DB (ledger.url)',
      '"mysql://u:<redacted>@h/db"',
      'postgres://',
    ],
    [
      'AMQP scheme',
      {},
      { CALLBACKD_AMQP_URL: 'http://x' },
      'CALLBACKD_AMQP_URL (amqp.url)',
      '"http://x"',
      'amqp://',
    ],
    [
      'secret without id',
      {},
      { GENESYS_CLIENT_SECRET: 's3cr3t' },
      'genesys.clientId',
      '(missing)',
      'clientId and clientSecret together',
    ],
    [
      'webhook without secret',
      {},
      { CALLBACKD_CRM_WEBHOOK_URL: 'http://127.0.0.1/h' },
      'crm.secret',
      '(missing)',
      'signing secret',
    ],
    ['lead above 30 days', { maxLeadDays: 45 }, {}, 'queues.q.maxLeadDays', '45', 'a number <= 30'],
    [
      'unknown zone',
      { openHours: { timeZone: 'Mars/Base' } },
      {},
      'queues.q.openHours.timeZone',
      '"Mars/Base"',
      'IANA time zone',
    ],
    ['verification', { verification: 'sms' }, {}, 'queues.q.verification', '"sms"', '"dtmf", "none"'],
    ['DID', { dids: [{ number: '12' }] }, {}, 'queues.q.dids.0.number', '"12"', 'E.164'],
    [
      'overflow',
      { overflowQueueId: 'nope' },
      {},
      'queues.q.overflowQueueId',
      '"nope"',
      'id of a configured queue (q)',
    ],
    [
      'misspelt key',
      { maxLeadDay: 3 },
      {},
      'queues.q.maxLeadDay',
      '3',
      'known keys are minLeadSeconds, maxLeadDays',
    ],
  ] as const;
  it.each(cases)('%s', (_label, queueOverride, env, key, value, accepted) => {
    const q = {
      name: 'Q',
      openHours: { timeZone: 'UTC' },
      dids: [{ number: '+18005551234' }],
      ...queueOverride,
    };
    const f = file(JSON.stringify({ queues: { q } }), 'json');
    const problems = problemsOf(() => loadConfig({ file: f, env }));
    const p = problems.find((x) => x.key === key);
    expect(p, JSON.stringify(problems)).toBeDefined();
    expect(p?.value).toBe(value);
    expect(p?.accepted).toContain(accepted);
  });

  it('lists every problem, and never prints a secret', () => {
    let message = '';
    try {
      loadConfig({
        file: file('server:\n  port: -1\ncrm:\n  secret: short\n'),
        env: { GENESYS_CLIENT_SECRET: 'hunter2' },
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('server.port: got -1');
    expect(message).toContain('crm.secret: got <redacted>');
    expect(message).not.toContain('short');
    expect(message).not.toContain('hunter2');
  });

  it('names a missing or unparsable file', () => {
    expect(problemsOf(() => loadConfig({ file: join(dir, 'absent.yaml'), env: {} }))[0]).toMatchObject({
      key: 'config file',
      accepted: expect.stringContaining('ENOENT'),
    });
    expect(
      problemsOf(() => loadConfig({ env: { CALLBACKD_CONFIG: file('queues: [unclosed') } }))[0],
    ).toMatchObject({
      key: 'CALLBACKD_CONFIG',
      accepted: expect.stringContaining('valid YAML'),
    });
  });
});
