import { afterEach, describe, expect, it } from 'vitest';
import { GENESYS_AUTH_FAILED, GenesysAuthError } from '../../src/genesys/auth.js';
import { createGenesysClient, type GenesysClient } from '../../src/genesys/client.js';
import { PlatformError } from '../../src/genesys/port.js';
import { exampleSpec } from './example-spec.js';
import {
  captureLogger,
  type FakePlatform,
  ManualClock,
  startFakePlatform,
  tokenReply,
  virtualSleep,
} from './fake-platform.js';

const SECRET = 's3cr3t-value-never-logged';
let platform: FakePlatform | undefined;
let client: GenesysClient | undefined;

afterEach(async () => {
  await client?.close();
  await platform?.close();
  client = undefined;
  platform = undefined;
});

function basicOf(id: string, secret: string) {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

function makeClient(p: FakePlatform, clock = new ManualClock(), secret = SECRET) {
  const log = captureLogger();
  const c = createGenesysClient({
    baseUrl: p.url,
    clientId: 'demo-client',
    clientSecret: secret,
    requestTimeoutMs: 2_000,
    clock,
    sleep: virtualSleep(clock).sleep,
    logger: log.logger,
  });
  client = c;
  return { client: c, log, clock };
}

const queueReply = { status: 200, body: { id: 'q1', name: 'Support' } };

describe('OAuth client credentials', () => {
  it('sends Basic credentials and grant_type=client_credentials to {loginUrl}/oauth/token', async () => {
    platform = await startFakePlatform((req) =>
      req.path === '/oauth/token' ? tokenReply('t1') : queueReply,
    );
    const { client } = makeClient(platform);
    await client.getQueue('q1');
    const [tokenReq] = platform.tokenRequests();
    expect(tokenReq?.method).toBe('POST');
    expect(tokenReq?.headers.authorization).toBe(basicOf('demo-client', SECRET));
    expect(tokenReq?.body).toBe('grant_type=client_credentials');
    expect(platform.api()[0]?.headers.authorization).toBe('Bearer t1');
  });

  it('shares one token request among many concurrent callers', async () => {
    platform = await startFakePlatform(async (req) => {
      if (req.path === '/oauth/token') {
        await new Promise((r) => setTimeout(r, 50));
        return tokenReply('shared');
      }
      return queueReply;
    });
    const { client } = makeClient(platform);
    await Promise.all(Array.from({ length: 20 }, () => client.getQueue('q1')));
    expect(platform.tokenRequests()).toHaveLength(1);
    expect(platform.api().every((r) => r.headers.authorization === 'Bearer shared')).toBe(true);
  });

  it('refreshes the token before it expires mid-run (injected clock)', async () => {
    let issued = 0;
    platform = await startFakePlatform((req) =>
      req.path === '/oauth/token' ? tokenReply(`t${++issued}`, 300) : queueReply,
    );
    const { client, clock } = makeClient(platform);
    await client.getQueue('q1');
    clock.advance(200_000); // inside the lifetime, before the refresh margin
    await client.getQueue('q1');
    expect(platform.tokenRequests()).toHaveLength(1);
    clock.advance(50_000); // 250 s of 300: within the last minute, so refresh now rather than risk a 401
    await client.getQueue('q1');
    expect(platform.tokenRequests()).toHaveLength(2);
    expect(platform.api().map((r) => r.headers.authorization)).toEqual([
      'Bearer t1',
      'Bearer t1',
      'Bearer t2',
    ]);
  });

  it('on a 401 for a stale token refreshes once and resends once', async () => {
    let issued = 0;
    platform = await startFakePlatform((req) => {
      if (req.path === '/oauth/token') return tokenReply(`t${++issued}`);
      // The platform revoked t1 (e.g. rotated) although its lifetime is not over.
      if (req.headers.authorization === 'Bearer t1')
        return { status: 401, body: { code: 'bad.credentials' } };
      return { status: 200, body: { conversation: { id: 'conv-1' } } };
    });
    const { client } = makeClient(platform);
    await expect(client.createCallback(exampleSpec())).resolves.toEqual({ conversationId: 'conv-1' });
    expect(platform.tokenRequests()).toHaveLength(2);
    expect(platform.api().map((r) => r.headers.authorization)).toEqual(['Bearer t1', 'Bearer t2']);
  });

  it('a 401 that survives the refresh is returned as an error, not resent again', async () => {
    let issued = 0;
    platform = await startFakePlatform((req) =>
      req.path === '/oauth/token' ? tokenReply(`t${++issued}`) : { status: 401, body: {} },
    );
    const { client } = makeClient(platform);
    const err = await client.createCallback(exampleSpec()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PlatformError);
    expect((err as PlatformError).reason.code).toBe('PLATFORM_UNAUTHORIZED');
    expect((err as PlatformError).kind).toBe('retryable');
    expect(platform.api()).toHaveLength(2);
  });

  it('a wrong secret fails with GENESYS_AUTH_FAILED naming the settings to fix, and sends nothing else', async () => {
    platform = await startFakePlatform((req) => {
      if (req.path === '/oauth/token') {
        return req.headers.authorization === basicOf('demo-client', SECRET)
          ? tokenReply('t1')
          : { status: 401, body: { error: 'invalid_client', description: 'authentication failed' } };
      }
      return queueReply;
    });
    const { client, log } = makeClient(platform, new ManualClock(), 'wrong-secret-value');
    const err = await client.createCallback(exampleSpec()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GenesysAuthError);
    expect((err as GenesysAuthError).code).toBe(GENESYS_AUTH_FAILED);
    expect((err as Error).message).toMatch(/GENESYS_CLIENT_ID/);
    expect((err as Error).message).toMatch(/GENESYS_CLIENT_SECRET/);
    expect((err as Error).message).not.toContain('wrong-secret-value');
    // Final: later calls fail the same way without another login attempt or any API call.
    await expect(client.getQueue('q1')).rejects.toBeInstanceOf(GenesysAuthError);
    expect(platform.tokenRequests()).toHaveLength(1);
    expect(platform.api()).toHaveLength(0);
    expect(log.lines.join('\n')).not.toContain('wrong-secret-value');
  });

  it('retries an unavailable login service, then uses the token', async () => {
    let tokenCalls = 0;
    platform = await startFakePlatform((req) => {
      if (req.path === '/oauth/token') return ++tokenCalls < 3 ? { status: 503, body: {} } : tokenReply('t1');
      return queueReply;
    });
    const { client } = makeClient(platform);
    await expect(client.getQueue('q1')).resolves.toEqual({ id: 'q1', name: 'Support' });
    expect(platform.tokenRequests()).toHaveLength(3);
  });

  it('never writes the secret or a token to the log', async () => {
    let issued = 0;
    platform = await startFakePlatform((req) => {
      if (req.path === '/oauth/token') return tokenReply(`tok-${++issued}-abcdef`, 300);
      if (req.headers.authorization === 'Bearer tok-1-abcdef') return { status: 401, body: {} };
      return { status: 429, headers: { 'retry-after': '1' }, body: {} };
    });
    const { client, log } = makeClient(platform);
    await client.getQueue('q1').catch(() => undefined);
    expect(log.lines.length).toBeGreaterThan(0);
    const all = log.lines.join('\n');
    expect(all).not.toContain(SECRET);
    expect(all).not.toContain('tok-');
    expect(all).not.toContain(Buffer.from(`demo-client:${SECRET}`).toString('base64'));
  });
});
