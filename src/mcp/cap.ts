/**
 * Output an agent reads is capped: a build log of megabytes would fill its context. Cut by bytes
 * (UTF-8), keeping the head and the tail by default (a failing command says why at its end), with
 * a marker in the middle saying how much was left out.
 */
export function capText(text: string, maxBytes: number, keep: 'head' | 'both' = 'both'): { text: string; truncated: boolean } {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return { text, truncated: false };
  const marker = (omitted: number): string => `\n[… ${String(omitted)} bytes left out by berth …]\n`;
  if (keep === 'head') return { text: bytes.subarray(0, maxBytes).toString('utf8') + marker(bytes.length - maxBytes), truncated: true };
  const half = Math.floor(maxBytes / 2);
  return { text: bytes.subarray(0, half).toString('utf8') + marker(bytes.length - 2 * half) + bytes.subarray(bytes.length - half).toString('utf8'), truncated: true };
}
