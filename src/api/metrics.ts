/**
 * The API's Prometheus metrics. Each server gets its own registry (tests start many servers in one
 * process); /metrics serves it together with prom-client's global registry, where the engine's
 * workers may register theirs.
 */
import { Counter, collectDefaultMetrics, register as globalRegistry, Histogram, Registry } from 'prom-client';

export interface ApiMetrics {
  registry: Registry;
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'method' | 'route'>;
  intake: Counter<'outcome'>;
  render(): Promise<{ contentType: string; body: string }>;
}

export function createApiMetrics(opts: { defaultMetrics?: boolean } = {}): ApiMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'callbackd_' });
  const requests = new Counter({
    name: 'callbackd_http_requests_total',
    help: 'HTTP requests answered, by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'callbackd_http_request_duration_seconds',
    help: 'HTTP request duration by method and route template',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const intake = new Counter({
    name: 'callbackd_intake_total',
    help: 'POST /api/v2/routing/callbacks outcomes: created, replayed, conflict, refused',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  return {
    registry,
    requests,
    duration,
    intake,
    async render() {
      const own = await registry.metrics();
      const global = await globalRegistry.metrics();
      return { contentType: registry.contentType, body: global.trim() === '' ? own : `${own}\n${global}` };
    },
  };
}
