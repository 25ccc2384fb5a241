/** OAuth client credentials, bearer checks and the per-token rate limit. */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ApiError } from '../errors.js';
import {
  type EndpointName,
  ok,
  type Reply,
  type RequestCtx,
  type Route,
  route,
  type SimContext,
} from './http.js';

/** OAuth errors have their own body shape ({error, description}), not ErrorBody. */
export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
  ) {
    super(message);
  }
}

interface TokenInfo {
  clientId: string;
  expiresMs: number;
}

interface RateWindow {
  startMs: number;
  count: number;
}

export class Auth {
  private readonly tokens = new Map<string, TokenInfo>();
  private readonly windows = new Map<string, RateWindow>();

  constructor(private readonly ctx: SimContext) {}

  routes(): Route[] {
    return [route('POST', '/oauth/token', 'token', (c) => this.token(c), false)];
  }

  revoke(): void {
    this.tokens.clear();
    this.windows.clear();
  }

  /** The bearer's client id; 401 without a known, unexpired token. */
  authenticate(req: IncomingMessage): string {
    const header = req.headers.authorization ?? '';
    const m = /^bearer\s+(\S+)$/i.exec(header);
    if (!m) {
      throw new ApiError(
        401,
        'authentication.required',
        'No authentication bearer token specified in authorization header.',
      );
    }
    const info = this.tokens.get(m[1]!);
    if (!info) throw new ApiError(401, 'bad.credentials', 'Invalid login credentials.');
    if (info.expiresMs <= this.ctx.scheduler.now()) {
      this.tokens.delete(m[1]!);
      throw new ApiError(401, 'bad.credentials', 'Invalid login credentials: the access token has expired.');
    }
    return info.clientId;
  }

  /**
   * Counts the request against the token's window and, for a resource with its own lower limit,
   * the org-wide window of that resource. Headers report the tighter of the two [live]; past
   * either limit, 429 `too.many.requests.retry.after` with Retry-After [SDK swagger].
   */
  rateLimit(req: IncomingMessage, endpoint: EndpointName, headers: Record<string, string>): void {
    const token = /^bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')![1]!;
    const { settings } = this.ctx;
    const windows: { w: RateWindow; allowed: number }[] = [
      { w: this.window(`token:${token}`), allowed: settings.requestsPerMinute },
    ];
    const resourceAllowed = settings.resourceLimits[endpoint];
    if (resourceAllowed !== undefined) {
      windows.push({ w: this.window(`resource:${endpoint}`), allowed: resourceAllowed });
    }
    const now = this.ctx.scheduler.now();
    const reset = (w: RateWindow): number => Math.max(1, Math.ceil((w.startMs + 60_000 - now) / 1000));
    const report = (w: RateWindow, allowed: number): void => {
      if (!settings.rateLimitHeaders) return;
      headers['inin-ratelimit-count'] = String(w.count);
      headers['inin-ratelimit-allowed'] = String(allowed);
      headers['inin-ratelimit-reset'] = String(reset(w));
    };
    const full = windows.find(({ w, allowed }) => w.count >= allowed);
    if (full) {
      const seconds = reset(full.w);
      report(full.w, full.allowed);
      headers['retry-after'] = String(seconds);
      throw new ApiError(
        429,
        'too.many.requests.retry.after',
        `Rate limit exceeded the maximum. Retry the request in [${seconds}] seconds`,
        { limit: String(full.allowed), retryAfterSeconds: String(seconds) },
      );
    }
    for (const { w } of windows) w.count++;
    const tightest = windows.reduce((a, b) => (b.allowed - b.w.count < a.allowed - a.w.count ? b : a));
    report(tightest.w, tightest.allowed);
  }

  private window(key: string): RateWindow {
    const now = this.ctx.scheduler.now();
    let w = this.windows.get(key);
    if (!w || now - w.startMs >= 60_000) {
      w = { startMs: now, count: 0 };
      this.windows.set(key, w);
    }
    return w;
  }

  private token(ctx: RequestCtx): Reply {
    const header = ctx.req.headers.authorization ?? '';
    const m = /^basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
    if (!m) throw new OAuthError(401, 'invalid_client', 'Client authentication (HTTP Basic) is required.');
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const sep = decoded.indexOf(':');
    const id = sep < 0 ? decoded : decoded.slice(0, sep);
    const secret = sep < 0 ? '' : decoded.slice(sep + 1);
    const form = new URLSearchParams(ctx.rawBody.toString('utf8'));
    const grant = form.get('grant_type');
    if (grant === null) throw new OAuthError(400, 'invalid_request', 'grant_type is required.');
    if (grant !== 'client_credentials') {
      throw new OAuthError(
        400,
        'unsupported_grant_type',
        `grant_type ${grant.slice(0, 40)} is not supported.`,
      );
    }
    const { oauth } = this.ctx.org;
    if (id !== oauth.clientId || secret !== oauth.clientSecret) {
      throw new OAuthError(401, 'invalid_client', 'authentication failed');
    }
    const accessToken = randomBytes(32).toString('base64url');
    const lifetime = this.ctx.settings.tokenLifetimeSeconds;
    this.tokens.set(accessToken, { clientId: id, expiresMs: this.ctx.scheduler.now() + lifetime * 1000 });
    return ok({ access_token: accessToken, token_type: 'bearer', expires_in: lifetime });
  }
}
