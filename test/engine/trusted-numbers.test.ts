import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
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

  it('knows the demo customer CRM-998271 and its number +14155552671, and no one else', async () => {
    expect(await demo.trustedNumbers('demo', 'CRM-998271')).toEqual(['+14155552671']);
    expect(await demo.trustedNumbers('demo', 'CRM-1')).toBeUndefined();
  });

  it('reads a JSON file, normalising formatted numbers, flat or per tenant', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trusted-'));
    const flat = join(dir, 'flat.json');
    writeFileSync(flat, JSON.stringify({ 'CRM-1': ['+1 (212) 555-0100'] }));
    expect(await fileTrustedNumbers(flat).trustedNumbers('t', 'CRM-1')).toContain('+12125550100');

    const tenants = join(dir, 'tenants.json');
    writeFileSync(tenants, JSON.stringify({ tenants: { a: { 'CRM-1': ['+12125550100'] } } }));
    const lookup = fileTrustedNumbers(tenants);
    expect(await lookup.trustedNumbers('a', 'CRM-1')).toContain('+12125550100');
    expect(await lookup.trustedNumbers('b', 'CRM-1')).toBeUndefined();
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
      expect(await fileTrustedNumbers(file).trustedNumbers('t', 'CRM-1'), file).toContain('+12125550100');
    }
    expect(await fileTrustedNumbers(csv).trustedNumbers('t', 'CRM-2')).not.toContain('+12125550100');
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

  it('GETs the templated URL with the configured headers and reads the trusted numbers', async () => {
    expect(await lookup().trustedNumbers('t1', 'CRM-1')).toContain('+12125550100');
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
    expect(await lookup().trustedNumbers('t1', 'nobody')).toBeUndefined();
  });

  it('fails closed with TrustedLookupUnavailableError on timeout and on 5xx', async () => {
    await expect(lookup().trustedNumbers('t1', 'slow')).rejects.toBeInstanceOf(TrustedLookupUnavailableError);
    await expect(lookup().trustedNumbers('t1', 'broken')).rejects.toThrow(/HTTP 500/);
  });
});
