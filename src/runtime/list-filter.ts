/**
 * A `Runtime.list` filter applied to what an engine listed: labels to carry, a name prefix. (The
 * labels Berth puts on what it creates, and what makes one ours, are `workspace/labels.ts`.)
 */
import type { ListFilter } from './types.js';

/** True when `labels` carries every label in `filter` (`true` = present with any value). */
export function matchesLabels(
  labels: Readonly<Record<string, string>>,
  filter: Readonly<Record<string, string | true>> | undefined,
): boolean {
  return Object.entries(filter ?? {}).every(([key, value]) =>
    value === true ? Object.hasOwn(labels, key) : labels[key] === value,
  );
}

/** True when the container passes the whole filter: its labels, and its name's prefix. */
export function matchesFilter(container: { name: string; labels: Readonly<Record<string, string>> }, filter: ListFilter): boolean {
  return matchesLabels(container.labels, filter.labels) && (filter.namePrefix === undefined || container.name.startsWith(filter.namePrefix));
}
