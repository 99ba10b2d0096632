// An example custom admin policy. Install it on the agent's machine (not in the config repo) and name it:
//
//   admin_policy:
//     - {module: /etc/portcullis/policies/require-owner-label.mjs, owners: [ml, web]}
//
// validateAndMutate(request, settings) gets {cluster, settings, revision, purpose} and the entry's other
// keys; it returns the request to go on with (changed or not), or throws to reject. An error's `rule`
// names the rule in reports (`[require-owner-label/missing-owner] ...`).

/** @param {{cluster: {name: string, labels: Record<string, string>}, purpose: string}} request */
export function validateAndMutate(request, settings) {
  const owner = request.cluster.labels.owner;
  const owners = settings.owners ?? [];
  if (owner === undefined) {
    throw Object.assign(new Error(`cluster ${request.cluster.name} has no owner label: add labels: {owner: TEAM}`), { rule: 'missing-owner' });
  }
  if (owners.length > 0 && !owners.includes(owner)) {
    throw Object.assign(new Error(`owner '${owner}' is not one of ${owners.join(', ')}`), { rule: 'unknown-owner' });
  }
  // Mutation: every object carries who reviewed the policy for it.
  return { ...request, cluster: { ...request.cluster, labels: { ...request.cluster.labels, 'policy.example.com/owner-checked': 'true' } } };
}
