/** Phone numbers never reach a log whole: everything but the last 4 digits is hidden. */
export function maskNumber(number: string | undefined): string {
  if (!number) return '(none)';
  const digits = number.replace(/\D/g, '');
  if (digits.length <= 4) return '***';
  return `***${digits.slice(-4)}`;
}
