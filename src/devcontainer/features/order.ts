/**
 * The order features install in, as computeDependsOnInstallationOrder does
 * (src/spec-configuration/containerFeaturesOrder.ts@v0.88.0): in rounds; a feature joins a round
 * once every `dependsOn` (hard) and every `installsAfter` naming a feature that is in the set
 * (soft; others are dropped) installed in an earlier round; of those ready, only the ones with the
 * highest priority (`overrideFeatureInstallOrder`: the first listed highest) go; a round is sorted
 * by id. Nothing ready while some are left is a cycle.
 */
export interface OrderNode {
  /** One feature with one set of options: what dependsOn names. */
  key: string;
  /** Its source without version (sourceKey): what installsAfter and the override name. */
  source: string;
  /** Other sources it answers to (its legacyIds). */
  aliases: string[];
  kind: 'local' | 'oci';
  userId: string;
  tag: string | null;
  optionsKey: string;
  /** Keys of the nodes it needs first. */
  dependsOn: string[];
  /** Sources it installs after when they are in the set. */
  installsAfter: string[];
}

export function installOrder(nodes: readonly OrderNode[], overrideOrder: readonly string[]): { order: OrderNode[] } | { error: string } {
  const answersTo = (node: OrderNode, source: string): boolean => node.source === source || node.aliases.includes(source);
  const priority = new Map<string, number>();
  overrideOrder.forEach((source, i) => {
    for (const node of nodes) if (answersTo(node, source)) priority.set(node.key, Math.max(priority.get(node.key) ?? 0, overrideOrder.length - i));
  });
  const soft = new Map(nodes.map((node) => [node.key, node.installsAfter.filter((source) => nodes.some((other) => other !== node && answersTo(other, source)))]));
  const left = [...nodes];
  const order: OrderNode[] = [];
  while (left.length > 0) {
    const ready = left.filter(
      (node) =>
        node.dependsOn.every((key) => order.some((done) => done.key === key)) &&
        (soft.get(node.key) ?? []).every((source) => order.some((done) => answersTo(done, source))),
    );
    if (ready.length === 0) {
      return { error: `the features ${left.map((n) => n.userId).join(', ')} wait for each other (dependsOn/installsAfter form a cycle), so none can install first` };
    }
    const top = Math.max(...ready.map((node) => priority.get(node.key) ?? 0));
    const round = ready.filter((node) => (priority.get(node.key) ?? 0) === top).sort(compare);
    for (const node of round) left.splice(left.indexOf(node), 1);
    order.push(...round);
  }
  return { order };
}

function compare(a: OrderNode, b: OrderNode): number {
  if (a.kind !== b.kind) return a.userId.localeCompare(b.userId);
  return a.source.localeCompare(b.source) || (a.tag ?? '').localeCompare(b.tag ?? '') || a.optionsKey.localeCompare(b.optionsKey);
}
