/** Human-readable renderings for the CLI; --json prints the API's answers unchanged instead. */
import type { CallbackResource, Violation } from '../domain/types.js';

export function maskTail(number: string): string {
  const digits = number.replace(/\D/g, '');
  if (digits.length <= 4) return number;
  return `${number.startsWith('+') ? '+' : ''}${'*'.repeat(digits.length - 4)}${digits.slice(-4)}`;
}

type Summary = Omit<CallbackResource, 'history'> & { history?: CallbackResource['history'] };

export function formatCallback(cb: Summary): string {
  const lines = [
    `${cb.callbackId}  ${cb.status.toUpperCase()}${cb.statusReason ? ` (${cb.statusReason.code}: ${cb.statusReason.message})` : ''}`,
    `  scheduled     ${cb.scheduledTime}${cb.timeZone ? ` (${cb.timeZone})` : ''}`,
    `  number        ${maskTail(cb.callbackNumber)} via ${cb.callbackFrom}`,
    `  queue         ${cb.routingData.queueId} priority ${cb.routingData.priority}${cb.routingData.wrapUpCode ? ` wrap-up ${cb.routingData.wrapUpCode}` : ''}`,
    `  customer      ${[cb.customerData.externalId, cb.customerData.firstName, cb.customerData.lastName].filter(Boolean).join(' ')}`,
    `  conversation  ${cb.conversationId ?? '-'}`,
    `  attempts      ${cb.attempts}${cb.nextAttemptAt ? `, next at ${cb.nextAttemptAt}` : ''}`,
  ];
  for (const h of cb.history ?? []) {
    lines.push(`  ${h.at}  ${h.status}${h.reason ? ` (${h.reason.code})` : ''}`);
  }
  return lines.join('\n');
}

export function formatRow(cb: Summary): string {
  return `${cb.scheduledTime}  ${cb.status.padEnd(9)}  ${cb.callbackId}`;
}

/** A problem document (or anything else an error answered with) as lines for stderr. */
export function formatProblem(status: number, body: unknown): string {
  const p = body as { title?: string; detail?: string; errors?: Violation[] } | null;
  if (p && typeof p === 'object' && Array.isArray(p.errors)) {
    const head = `refused (${status}${p.title ? ` ${p.title}` : ''})`;
    return [head, ...p.errors.map((e) => `  ${e.code}${e.field ? ` [${e.field}]` : ''}: ${e.message}`)].join(
      '\n',
    );
  }
  return `HTTP ${status}: ${typeof body === 'string' ? body.slice(0, 500) : JSON.stringify(body)}`;
}
