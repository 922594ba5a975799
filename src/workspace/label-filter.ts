/** Does a workspace's labels include every pair of the filter (no filter: yes)? */
export function matchesLabels(labels: Readonly<Record<string, string>>, filter: Readonly<Record<string, string>> | undefined): boolean {
  return Object.entries(filter ?? {}).every(([key, value]) => Object.hasOwn(labels, key) && labels[key] === value);
}
