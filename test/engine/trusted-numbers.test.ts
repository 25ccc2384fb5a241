import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chainTrustedNumbers,
  checkTrustedNumber,
  fileTrustedNumbers,
  httpTrustedNumbers,
  lookupUrl,
  staticTrustedNumbers,
  TrustedLookupUnavailableError,
  trustedNumbersFor,
  trustedNumbersFromConfig,
} from '../../src/adapters/customers.js';

describe('trusted number guard', () => {
  const demo = staticTrustedNumbers();

  it('accepts the demo customer CRM-998271 calling from +14155552671', async () => {
    expect(await checkTrustedNumber(demo, 'demo', 'CRM-998271', '+14155552671')).toBeNull();
  });

  it('refuses another number with NUMBER_NOT_TRUSTED and never echoes the whole number', async () => {
    const v = await checkTrustedNumber(demo, 'demo', 'CRM-998271', '+14155550000');
    expect(v?.code).toBe('NUMBER_NOT_TRUSTED');
    expect(v?.field).toBe('callbackNumber');
    expect(v?.message).not.toContain('4155550000');
  });

  it('refuses an unknown customer and a missing externalId with CUSTOMER_NOT_FOUND', async () => {
    expect((await checkTrustedNumber(demo, 'demo', 'CRM-1', '+14155552671'))?.code).toBe(
      'CUSTOMER_NOT_FOUND',
    );
    expect((await checkTrustedNumber(demo, 'demo', undefined, '+14155552671'))?.field).toBe(
      'customerData.externalId',
    );
  });

  it('reads a JSON file, normalising formatted numbers, flat or per tenant', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trusted-'));
    const flat = join(dir, 'flat.json');
    writeFileSync(flat, JSON.stringify({ 'CRM-1': ['+1 (212) 555-0100'] }));
    expect(await checkTrustedNumber(fileTrustedNumbers(flat), 't', 'CRM-1', '+12125550100')).toBeNull();

    const tenants = join(dir, 'tenants.json');
    writeFileSync(tenants, JSON.stringify({ tenants: { a: { 'CRM-1': ['+12125550100'] } } }));
    const lookup = fileTrustedNumbers(tenants);
    expect(await checkTrustedNumber(lookup, 'a', 'CRM-1', '+12125550100')).toBeNull();
    expect((await checkTrustedNumber(lookup, 'b', 'CRM-1', '+12125550100'))?.code).toBe('CUSTOMER_NOT_FOUND');
  });

  it('reads record lists from JSON, YAML and CSV files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trusted-'));
    const json = join(dir, 'records.json');
    writeFileSync(json, JSON.stringify([{ externalId: 'CRM-1', numbers: ['+12125550100'] }]));
    const yaml = join(dir, 'records.yaml');
    writeFileSync(yaml, 'records:\n  - externalId: CRM-1\n    numbers: ["+12125550100"]\n');
    const csv = join(dir, 'records.csv');
    writeFileSync(csv, 'externalId,numbers\nCRM-1,+12125550101;+12125550100\nCRM-2,+12125550102\n');
    for (const file of [json, yaml, csv]) {
      expect(
        await checkTrustedNumber(fileTrustedNumbers(file), 't', 'CRM-1', '+12125550100'),
        file,
      ).toBeNull();
    }
    expect((await checkTrustedNumber(fileTrustedNumbers(csv), 't', 'CRM-2', '+12125550100'))?.code).toBe(
      'NUMBER_NOT_TRUSTED',
    );
  });

  it('builds the lookup config customers describes, builtin records by default', async () => {
    const builtin = trustedNumbersFromConfig({
      source: 'builtin',
      records: [{ externalId: 'CRM-998271', numbers: ['+14155552671'] }],
    });
    expect(await trustedNumbersFor(builtin, 'demo', 'CRM-998271')).toEqual(['+14155552671']);
    expect(await trustedNumbersFor(builtin, 'demo', 'CRM-0')).toBeNull();
    expect(await trustedNumbersFor(builtin, 'demo', undefined)).toBeNull();
    expect(() => trustedNumbersFromConfig({ source: 'file' })).toThrow(/customers\.file/);
  });

  it('names the file and the expected shape when the file is malformed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trusted-'));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ 'CRM-1': '+12125550100' }));
    expect(() => fileTrustedNumbers(bad)).toThrow(/bad\.json.*arrays of E\.164/);
  });

  it('lets the first source that knows the customer decide', async () => {
    const chained = chainTrustedNumbers(staticTrustedNumbers({ 'CRM-1': ['+12125550100'] }), demo);
    expect(await checkTrustedNumber(chained, 't', 'CRM-998271', '+14155552671')).toBeNull();
    expect((await checkTrustedNumber(chained, 't', 'CRM-1', '+14155552671'))?.code).toBe(
      'NUMBER_NOT_TRUSTED',
    );
  });
});

describe('HTTP CRM lookup', () => {
  let server: Server;
  let base: string;
  const seen: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.url} ${req.headers.authorization ?? ''}`);
      if (req.url === '/t1/customers/CRM-1') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ trustedNumbers: ['+12125550100'] }));
      } else if (req.url === '/t1/customers/slow') {
        setTimeout(() => res.end('[]'), 2_000).unref();
      } else if (req.url === '/t1/customers/broken') {
        res.statusCode = 500;
        res.end('oops');
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const lookup = () =>
    httpTrustedNumbers({
      urlTemplate: `${base}/{tenantId}/customers/{externalId}`,
      timeoutMs: 300,
      headers: { authorization: 'Bearer crm-token' },
    });

  it('GETs the templated URL with the configured headers and checks the answer', async () => {
    expect(await checkTrustedNumber(lookup(), 't1', 'CRM-1', '+12125550100')).toBeNull();
    expect(seen).toContain('/t1/customers/CRM-1 Bearer crm-token');
  });

  it('appends ?externalId= to a URL without an {externalId} placeholder', () => {
    expect(lookupUrl('http://crm.local/lookup?x=1', 't', 'CRM 1')).toBe(
      'http://crm.local/lookup?x=1&externalId=CRM+1',
    );
    expect(lookupUrl('http://crm.local/{tenantId}/c/{externalId}', 't/1', 'a b')).toBe(
      'http://crm.local/t%2F1/c/a%20b',
    );
  });

  it('treats 404 as an unknown customer', async () => {
    expect((await checkTrustedNumber(lookup(), 't1', 'nobody', '+12125550100'))?.code).toBe(
      'CUSTOMER_NOT_FOUND',
    );
  });

  it('fails closed with TrustedLookupUnavailableError on timeout and on 5xx', async () => {
    await expect(checkTrustedNumber(lookup(), 't1', 'slow', '+12125550100')).rejects.toBeInstanceOf(
      TrustedLookupUnavailableError,
    );
    await expect(checkTrustedNumber(lookup(), 't1', 'broken', '+12125550100')).rejects.toThrow(/HTTP 500/);
  });
});
