/** True when `labels` carries every label in `filter` (`true` = present with any value). */
export function matchesLabels(
  labels: Readonly<Record<string, string>>,
  filter: Readonly<Record<string, string | true>> | undefined,
): boolean {
  return Object.entries(filter ?? {}).every(([key, value]) =>
    value === true ? Object.hasOwn(labels, key) : labels[key] === value,
  );
}
