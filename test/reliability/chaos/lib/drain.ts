/**
 * The end of every chaos scenario: let the engine carry each callback to its end while the
 * simulator's clock is pushed ahead, stop the serves, then audit answers, crashes and the ledger.
 * The deployment is one serve on SQLite (cluster.ts) or several on PostgreSQL (pg-cluster.ts).
 */
import type { Simulator } from '../../../../src/simulator/index.js';
import { waitFor } from '../../../support/wait.js';
import type { Answer } from './client.js';
import type { ServeExit } from './cluster.js';
import {
  type AuditInput,
  type AuditResult,
  FINAL,
  type LedgerSnapshot,
  type Violation,
} from './ledger-check.js';
import { type AnswerSummary, summarizeAnswers } from './workload.js';

/** What the drain needs of a deployment. */
export interface DrainTarget {
  readonly sim: Simulator;
  readonly unexpectedExits: readonly ServeExit[];
  ledgerSnapshot(): Promise<LedgerSnapshot>;
  audit(input: Omit<AuditInput, 'dbPath' | 'tenant'>): Promise<AuditResult>;
  /** Clean stop (SIGTERM) of every serve. */
  stop(): Promise<void>;
  /** A line on the deployment's state for a timeout message. */
  describe(): string;
}

export interface DrainWatcher {
  readonly firstFinal: ReadonlyMap<string, string>;
  stop(): void;
  sample(): void | Promise<void>;
}

export interface DrainOptions {
  cluster: DrainTarget;
  watcher: DrainWatcher;
  answers: Map<string, Answer[]>;
  requestDeadlineMs: number;
  drainTimeoutMs: number;
  /** Moves the simulator's clock one step; called once per check. */
  advance: () => void;
  /** Violations found here are appended to this list. */
  violations: Violation[];
}

export interface DrainResult {
  drainMs: number;
  answered: AnswerSummary;
  audit: AuditResult;
}

export async function drainAndAudit(o: DrainOptions): Promise<DrainResult> {
  const { cluster, watcher, violations } = o;
  const { sim } = cluster;
  const drainStarted = Date.now();
  let snapshot = await cluster.ledgerSnapshot();
  await waitFor(
    'every callback in a final state on the ledger and the platform',
    async () => {
      o.advance();
      snapshot = await cluster.ledgerSnapshot();
      const open = snapshot.rows.filter((r) => !FINAL.has(r.status)).length;
      const live = sim.control.conversations().filter((c) => c.endReason === null).length;
      return open === 0 && live === 0;
    },
    {
      timeoutMs: o.drainTimeoutMs,
      intervalMs: 100,
      describe: () =>
        `ledger ${JSON.stringify(snapshot.byStatus)}, ${snapshot.inFlight} in flight; ${cluster.describe()}`,
    },
  ).catch((err: Error) => {
    violations.push({ kind: 'not-drained', detail: err.message });
  });
  const drainMs = Date.now() - drainStarted;
  await cluster.stop();
  watcher.stop();
  await watcher.sample();

  const answered = summarizeAnswers(o.answers, o.requestDeadlineMs);
  violations.push(...answered.violations);
  for (const exit of cluster.unexpectedExits) {
    violations.push({
      kind: 'crash',
      detail: `serve generation ${exit.generation} exited on its own (code ${exit.code}, signal ${exit.signal})`,
    });
  }
  const audit = await cluster.audit({
    platform: sim.control.conversations(),
    answered201: answered.answered201,
    neverAccepted: answered.neverAccepted,
    firstFinal: watcher.firstFinal,
    requireDrained: true,
  });
  violations.push(...audit.violations);
  return { drainMs, answered, audit };
}
