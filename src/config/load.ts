/**
 * Configuration loading: the embedded default, a YAML or JSON file merged over it, then
 * environment overrides, all validated with zod once at start-up. A problem names the key
 * (or the environment variable), the value and what would be accepted.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { checkPolicy } from '../policy.js';
import { defaultConfigInput } from './defaults.js';
import { type CallbackdConfig, CallbackdConfigSchema } from './schema.js';

export interface ConfigProblem {
  /** Dotted key (e.g. queues.<id>.maxLeadDays), or "ENV_VAR (dotted.key)" for environment values. */
  key: string;
  /** The offending value, JSON-encoded; secrets shown as "<redacted>"; "(missing)" when absent. */
  value: string;
  /** What would be accepted instead. */
  accepted: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly problems: readonly ConfigProblem[],
    readonly file?: string,
  ) {
    const where = file ? ` (file ${file} plus environment)` : '';
    super(
      `invalid configuration${where}:\n` +
        problems.map((p) => `  - ${p.key}: got ${p.value}; expected ${p.accepted}`).join('\n'),
    );
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

export interface LoadConfigOptions {
  /** A YAML or JSON file; defaults to env.CALLBACKD_CONFIG; none = the embedded default alone. */
  file?: string;
  /** Environment to read overrides from; defaults to process.env. */
  env?: Env;
}

type EnvOverride = { name: string; path: readonly [string, string]; kind?: 'port' };

/** Environment variables and the config key each one sets. */
export const ENV_OVERRIDES: readonly EnvOverride[] = [
  { name: 'PORT', path: ['server', 'port'], kind: 'port' },
  { name: 'CALLBACKD_DB', path: ['ledger', 'url'] },
  { name: 'CALLBACKD_AMQP_URL', path: ['amqp', 'url'] },
  { name: 'GENESYS_REGION', path: ['genesys', 'region'] },
  { name: 'GENESYS_BASE_URL', path: ['genesys', 'baseUrl'] },
  { name: 'GENESYS_LOGIN_URL', path: ['genesys', 'loginUrl'] },
  { name: 'GENESYS_CLIENT_ID', path: ['genesys', 'clientId'] },
  { name: 'GENESYS_CLIENT_SECRET', path: ['genesys', 'clientSecret'] },
  { name: 'CALLBACKD_CRM_WEBHOOK_URL', path: ['crm', 'webhookUrl'] },
  { name: 'CALLBACKD_CRM_WEBHOOK_SECRET', path: ['crm', 'secret'] },
];

/** Sections a file replaces wholesale instead of merging key by key (demo data must not leak in). */
const REPLACED_SECTIONS = new Set(['queues', 'customers']);

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function merge(base: Obj, over: Obj, depth = 0): Obj {
  const out: Obj = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    const replace = depth === 0 && REPLACED_SECTIONS.has(key);
    out[key] = !replace && isObj(current) && isObj(value) ? merge(current, value, depth + 1) : value;
  }
  return out;
}

function readConfigFile(file: string, viaEnv: boolean): Obj {
  const key = viaEnv ? 'CALLBACKD_CONFIG' : 'config file';
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError([
      { key, value: JSON.stringify(file), accepted: `a readable YAML or JSON file (${reason})` },
    ]);
  }
  let parsed: unknown;
  try {
    parsed = file.toLowerCase().endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError([
      {
        key,
        value: JSON.stringify(file),
        accepted: `valid ${file.toLowerCase().endsWith('.json') ? 'JSON' : 'YAML'} (${(err as Error).message.split('\n')[0]})`,
      },
    ]);
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isObj(parsed)) {
    throw new ConfigError([
      {
        key,
        value: JSON.stringify(file),
        accepted: 'a file whose top level is a mapping of sections (server, queues, …)',
      },
    ]);
  }
  return parsed;
}

function applyEnv(input: Obj, env: Env): Map<string, string> {
  const fromEnv = new Map<string, string>();
  for (const o of ENV_OVERRIDES) {
    const raw = env[o.name];
    if (raw === undefined || raw.trim() === '') continue;
    const value = raw.trim();
    const [section, key] = o.path;
    const target = isObj(input[section]) ? { ...(input[section] as Obj) } : {};
    // A non-numeric PORT stays a string so validation reports it by name.
    target[key] = o.kind === 'port' && /^\d+$/.test(value) ? Number(value) : value;
    input[section] = target;
    fromEnv.set(o.path.join('.'), o.name);
  }
  // GENESYS_LOGIN_URL defaults to GENESYS_BASE_URL (how a separately started simulator is used).
  const base = env.GENESYS_BASE_URL?.trim();
  if (base && !env.GENESYS_LOGIN_URL?.trim() && isObj(input.genesys)) {
    input.genesys = { ...input.genesys, loginUrl: base };
    fromEnv.set('genesys.loginUrl', 'GENESYS_BASE_URL');
  }
  return fromEnv;
}

const SECRET_KEY = /secret|password|token/i;

function showValue(key: string, value: unknown): string {
  if (value === undefined) return '(missing)';
  if (SECRET_KEY.test(key)) return '<redacted>';
  let text = JSON.stringify(value) ?? String(value);
  // Credentials inside URLs (postgres://user:pass@host) never reach an error message.
  text = text.replace(/(\/\/[^:/@\s"]+:)[^@/\s"]+@/g, '$1<redacted>@');
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function at(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = input;
  for (const p of path) {
    if (!isObj(cur) && !Array.isArray(cur)) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p as string];
  }
  return cur;
}

const TYPE_WORDS: Record<string, string> = {
  int: 'a whole number',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'a mapping of keys to values',
  array: 'a list',
  record: 'a mapping of keys to values',
};

function stripExpected(message: string): string {
  return message.replace(/^expected\s+/i, '');
}

function accepted(issue: z.core.$ZodIssue): string {
  const custom = !/^(Invalid|Too (small|big))/.test(issue.message);
  switch (issue.code) {
    case 'invalid_type':
      return TYPE_WORDS[issue.expected] ?? issue.expected;
    case 'too_small': {
      if (custom) return stripExpected(issue.message);
      const min = String(issue.minimum);
      if (issue.origin === 'array') return `a list of at least ${min} item(s)`;
      if (issue.origin === 'string') return min === '1' ? 'a non-empty string' : `at least ${min} characters`;
      return `a number ${issue.inclusive ? '>=' : '>'} ${min}`;
    }
    case 'too_big': {
      if (custom) return stripExpected(issue.message);
      const max = String(issue.maximum);
      if (issue.origin === 'array') return `a list of at most ${max} item(s)`;
      if (issue.origin === 'string') return `at most ${max} characters`;
      return `a number ${issue.inclusive ? '<=' : '<'} ${max}`;
    }
    case 'invalid_value':
      return `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'unrecognized_keys':
      return 'a known key';
    default:
      return stripExpected(issue.message);
  }
}

/** The keys the schema knows at a path (for "unknown key" problems). */
function knownKeysAt(path: readonly PropertyKey[]): string[] {
  // Walks zod 4's public `def` tree: wrappers are unwrapped, records and arrays consume a key.
  type Def = {
    type: string;
    shape?: Obj;
    innerType?: unknown;
    in?: unknown;
    valueType?: unknown;
    element?: unknown;
  };
  const defOf = (s: unknown): Def => (s as { _zod: { def: Def } })._zod.def;
  let schema: unknown = CallbackdConfigSchema;
  let rest = [...path];
  for (;;) {
    const def = defOf(schema);
    if (def.innerType) schema = def.innerType;
    else if (def.type === 'pipe') schema = def.in;
    else if (rest.length === 0) return def.type === 'object' && def.shape ? Object.keys(def.shape) : [];
    else if (def.type === 'object' && def.shape) {
      schema = def.shape[String(rest[0])];
      rest = rest.slice(1);
      if (schema === undefined) return [];
    } else if (def.type === 'record') {
      schema = def.valueType;
      rest = rest.slice(1);
    } else if (def.type === 'array') {
      schema = def.element;
      rest = rest.slice(1);
    } else return [];
  }
}

const ACCEPTED_HINTS: Record<string, string> = {
  'server.port': 'a whole number from 0 to 65535',
};

function keyName(path: readonly PropertyKey[], fromEnv: Map<string, string>): string {
  const dotted = path.map(String).join('.');
  const envName = fromEnv.get(dotted);
  return envName ? `${envName} (${dotted})` : dotted || '(top level)';
}

/** Turn zod issues into problems naming key, value and what is accepted. */
export function configProblems(
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  fromEnv: Map<string, string> = new Map(),
): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) {
        const path = [...issue.path, k];
        const known = knownKeysAt(issue.path);
        out.push({
          key: keyName(path, fromEnv),
          value: showValue(k, at(input, path)),
          accepted: known.length
            ? `no key "${k}" here; known keys are ${known.join(', ')}`
            : `no key "${k}" here; remove it or fix its spelling`,
        });
      }
      continue;
    }
    const key = keyName(issue.path, fromEnv);
    const value = 'input' in issue && issue.input !== undefined ? issue.input : at(input, issue.path);
    const hint = ACCEPTED_HINTS[issue.path.map(String).join('.')];
    out.push({ key, value: showValue(key, value), accepted: hint ?? accepted(issue) });
  }
  return out;
}

/** Validate an already-merged config object (no files, no environment). */
export function parseConfig(input: unknown, fromEnv?: Map<string, string>, file?: string): CallbackdConfig {
  const result = CallbackdConfigSchema.safeParse(input, { reportInput: true });
  if (!result.success) throw new ConfigError(configProblems(result.error.issues, input, fromEnv), file);
  // Values valid one by one may still contradict each other (POLICY's relations).
  const related = checkPolicy(result.data);
  if (related.length > 0) {
    throw new ConfigError(
      related.map((p) => ({
        key: p.key,
        value: JSON.stringify(valueAt(result.data, p.key)),
        accepted: p.message,
      })),
      file,
    );
  }
  return result.data;
}

/**
 * Load the configuration: embedded default ← file (opts.file or CALLBACKD_CONFIG) ← environment.
 * Throws ConfigError listing every problem.
 */
export function loadConfig(opts: LoadConfigOptions = {}): CallbackdConfig {
  const env = opts.env ?? process.env;
  const envFile = env.CALLBACKD_CONFIG?.trim() || undefined;
  const file = opts.file ?? envFile;
  let input: Obj = defaultConfigInput() as Obj;
  if (file !== undefined) input = merge(input, readConfigFile(file, opts.file === undefined));
  const fromEnv = applyEnv(input, env);
  return parseConfig(input, fromEnv, file);
}

function valueAt(obj: unknown, dotted: string): unknown {
  let v: unknown = obj;
  for (const k of dotted.split('.'))
    v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return v ?? '(default)';
}
