/** The time every row is stamped with (ISO, UTC). */
export function now(): string {
  return new Date().toISOString();
}
