/**
 * The end of every chaos scenario: let the engine carry each callback to its end while the
 * simulator's clock is pushed ahead, stop the cluster, then audit answers, crashes and the ledger.
 */
import type { Answer } from './client.js';
import { type Cluster, TENANT, waitForCluster } from './cluster.js';
import {
  type AuditResult,
  auditLedger,
  FINAL,
  type FinalStateWatcher,
  ledgerSnapshot,
  type Violation,
} from './ledger-check.js';
import { type AnswerSummary, summarizeAnswers } from './workload.js';

export interface DrainOptions {
  cluster: Cluster;
  watcher: FinalStateWatcher;
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
  let snapshot = ledgerSnapshot(cluster.dbPath, TENANT);
  await waitForCluster(
    cluster,
    'every callback in a final state on the ledger and the platform',
    () => {
      o.advance();
      snapshot = ledgerSnapshot(cluster.dbPath, TENANT);
      const open = snapshot.rows.filter((r) => !FINAL.has(r.status)).length;
      const live = sim.control.conversations().filter((c) => c.endReason === null).length;
      return open === 0 && live === 0;
    },
    o.drainTimeoutMs,
    () => `ledger ${JSON.stringify(snapshot.byStatus)}, ${snapshot.inFlight} in flight`,
  ).catch((err: Error) => {
    violations.push({ kind: 'not-drained', detail: err.message });
  });
  const drainMs = Date.now() - drainStarted;
  await cluster.stop();
  watcher.stop();
  watcher.sample();

  const answered = summarizeAnswers(o.answers, o.requestDeadlineMs);
  violations.push(...answered.violations);
  for (const exit of cluster.unexpectedExits) {
    violations.push({
      kind: 'crash',
      detail: `serve generation ${exit.generation} exited on its own (code ${exit.code}, signal ${exit.signal})`,
    });
  }
  const audit = auditLedger({
    dbPath: cluster.dbPath,
    tenant: TENANT,
    platform: sim.control.conversations(),
    answered201: answered.answered201,
    neverAccepted: answered.neverAccepted,
    firstFinal: watcher.firstFinal,
    requireDrained: true,
  });
  violations.push(...audit.violations);
  return { drainMs, answered, audit };
}
