import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signatureHeader, verifySignature } from '../../src/adapters/crm-webhook.js';

const secret = 'whsec_test_secret';
const body = '{"eventId":"42","data":{"status":"completed"}}';
const now = Date.UTC(2024, 5, 15, 16, 0, 0);

describe('webhook signature', () => {
  it('signs "<t>.<raw body>" with HMAC-SHA256 in the Stripe-style header', () => {
    const header = signatureHeader(body, secret, now);
    const t = Math.floor(now / 1000);
    const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
    expect(header).toBe(`t=${t},v1=${expected}`);
  });

  it('verifies a header it made, within the tolerance', () => {
    const header = signatureHeader(body, secret, now);
    expect(verifySignature(body, header, secret, 300, now + 299_000)).toBe(true);
    expect(verifySignature(Buffer.from(body), header, secret, 300, now)).toBe(true);
  });

  it('refuses a stale timestamp (replay) and a future one beyond the tolerance', () => {
    const header = signatureHeader(body, secret, now);
    expect(verifySignature(body, header, secret, 300, now + 301_000)).toBe(false);
    expect(verifySignature(body, header, secret, 300, now - 301_000)).toBe(false);
  });

  it('refuses a changed body, another secret, and malformed or missing headers', () => {
    const header = signatureHeader(body, secret, now);
    expect(verifySignature(`${body} `, header, secret, 300, now)).toBe(false);
    expect(verifySignature(body, header, 'other', 300, now)).toBe(false);
    expect(verifySignature(body, undefined, secret, 300, now)).toBe(false);
    expect(verifySignature(body, 't=abc,v1=00', secret, 300, now)).toBe(false);
    expect(verifySignature(body, header.replace(/v1=[0-9a-f]+/, 'v1=zz'), secret, 300, now)).toBe(false);
  });

  it('accepts any of several v1 signatures (secret rotation)', () => {
    const good = signatureHeader(body, secret, now);
    const t = Math.floor(now / 1000);
    const header = `t=${t},v1=${'0'.repeat(64)},${good.split(',')[1]}`;
    expect(verifySignature(body, header, secret, 300, now)).toBe(true);
  });
});
