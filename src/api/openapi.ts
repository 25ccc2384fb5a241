/** Builds the OpenAPI 3.1 document from the route table and its zod schemas. */
import { z } from 'zod';
import { PROBLEM_CONTENT_TYPE } from './problem.js';
import { allStatuses, PROBLEM_DESCRIPTIONS, type RouteSpec } from './route.js';
import { ProblemSchema } from './schemas.js';

type Json = Record<string, unknown>;

class SchemaCollector {
  readonly components: Record<string, unknown> = {};

  /** JSON Schema for `schema`, with named sub-schemas hoisted into components. */
  convert(schema: z.ZodType, io: 'input' | 'output'): Json {
    const raw = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json;
    const text = JSON.stringify(raw).replaceAll('"#/$defs/', '"#/components/schemas/');
    const json = JSON.parse(text) as Json;
    delete json.$schema;
    const defs = (json.$defs ?? {}) as Record<string, unknown>;
    delete json.$defs;
    for (const [name, def] of Object.entries(defs)) this.components[name] = def;
    const id = z.globalRegistry.get(schema)?.id;
    if (typeof id === 'string') {
      delete json.id;
      this.components[id] = json;
      return { $ref: `#/components/schemas/${id}` };
    }
    return json;
  }
}

function parameters(c: SchemaCollector, schema: z.ZodObject | undefined, where: 'path' | 'query'): Json[] {
  if (!schema) return [];
  const json = c.convert(schema, 'input') as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, prop]) => ({
    name,
    in: where,
    required: where === 'path' || (json.required ?? []).includes(name),
    ...(typeof prop.description === 'string' ? { description: prop.description } : {}),
    schema: prop,
  }));
}

export function buildOpenApi(routes: readonly RouteSpec[], info: { version: string }): Json {
  const c = new SchemaCollector();
  const problemRef = c.convert(ProblemSchema, 'output');
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes) {
    const responses: Record<string, Json> = {};
    for (const status of allStatuses(route)) {
      const own = route.responses[status];
      const headers: Record<string, Json> = {};
      for (const [name, description] of Object.entries(own?.headers ?? {})) {
        headers[name] = { description, schema: { type: 'string' } };
      }
      if (status === 429)
        headers['Retry-After'] = { description: 'Seconds to wait', schema: { type: 'integer' } };
      if (status === 401) headers['WWW-Authenticate'] = { description: 'Bearer', schema: { type: 'string' } };
      let content: Json | undefined;
      if (own?.schema) {
        content = { [own.contentType ?? 'application/json']: { schema: c.convert(own.schema, 'output') } };
      } else if (status >= 400) {
        content = { [PROBLEM_CONTENT_TYPE]: { schema: problemRef } };
      } else if (own?.contentType) {
        content = { [own.contentType]: { schema: { type: 'string' } } };
      }
      responses[String(status)] = {
        description: own?.description ?? PROBLEM_DESCRIPTIONS[status] ?? 'Error',
        ...(Object.keys(headers).length ? { headers } : {}),
        ...(content ? { content } : {}),
      };
    }
    const op: Json = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: route.tags,
      security: route.scope ? [{ apiKey: [route.scope] }] : [],
      parameters: [...parameters(c, route.params, 'path'), ...parameters(c, route.query, 'query')],
      ...(route.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: c.convert(route.body, 'input') } },
            },
          }
        : {}),
      responses,
    };
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'callbackd',
      version: info.version,
      description:
        'Schedule customer callbacks in Genesys Cloud CX exactly once and follow each to its end. ' +
        'Errors are RFC 9457 problem details with errors[] of {code, field, message}.',
    },
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas: c.components,
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An API key (cbk_…) made with `callbackd keys create`; scopes routing:callback:create|edit|view',
        },
      },
    },
  };
}
