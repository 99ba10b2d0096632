// Server-side apply (application/apply-patch+yaml), minimally: the applied configuration is
// merged into the object (maps merge, lists and scalars replace), fields this manager applied
// before and no longer applies are removed unless another manager owns them, and a field
// another manager owns with a different value is a 409 conflict unless `force` is set.
import { KubeError, type Resource } from './errors.js';
import { deepEqual, deleteAt, isObject, valueAt, type JsonObject } from './json.js';
import { disown, leafPaths, overlaps, ownerFor, readOwners, writeOwners, type Path } from './ownership.js';

export interface ApplyRequest {
  resource: Resource;
  name: string;
  manager: string;
  force: boolean;
  apiVersion: string;
  time: string;
}

/** The object after applying `config` to `current` (undefined: not there yet), managedFields included. */
export function applyConfig(current: JsonObject | undefined, config: JsonObject, req: ApplyRequest): JsonObject {
  const next: JsonObject = current ? structuredClone(current) : {};
  const owners = current ? readOwners(current) : [];
  const applied = leafPaths(config);
  const others = owners.filter((o) => !(o.manager === req.manager && o.operation === 'Apply'));

  const conflicts: { manager: string; apiVersion: string; path: Path }[] = [];
  for (const path of applied.values()) {
    if (deepEqual(valueAt(next, path), valueAt(config, path))) continue;
    for (const other of others) {
      if ([...other.paths.values()].some((owned) => overlaps(owned, path))) conflicts.push({ manager: other.manager, apiVersion: other.apiVersion, path });
    }
  }
  if (conflicts.length > 0 && !req.force) throw applyConflict(req, conflicts);
  disown(others, conflicts.map((c) => c.path));

  const mine = ownerFor(owners, req.manager, 'Apply', req.apiVersion, req.time);
  for (const [key, path] of mine.paths) {
    if (applied.has(key)) continue;
    const keptByOther = others.some((o) => [...o.paths.values()].some((owned) => overlaps(owned, path)));
    if (!keptByOther) removeField(next, path);
  }
  mergeInto(next, config);
  mine.paths = applied;
  writeOwners(next, owners);
  return next;
}

function mergeInto(target: JsonObject, config: JsonObject): void {
  for (const [key, value] of Object.entries(config)) {
    const existing = target[key];
    if (value === null) delete target[key];
    else if (isObject(value) && isObject(existing)) mergeInto(existing, value);
    else target[key] = structuredClone(value);
  }
}

/** Delete a field and any map it leaves empty. */
function removeField(object: JsonObject, path: Path): void {
  deleteAt(object, path);
  for (let n = path.length - 1; n > 0; n--) {
    const parent = valueAt(object, path.slice(0, n));
    if (!isObject(parent) || Object.keys(parent).length > 0) break;
    deleteAt(object, path.slice(0, n));
  }
}

function applyConflict(req: ApplyRequest, conflicts: readonly { manager: string; apiVersion: string; path: Path }[]): KubeError {
  const field = (p: Path) => '.' + p.join('.');
  const lines = conflicts.map((c) => `conflict with "${c.manager}" using ${c.apiVersion}: ${field(c.path)}`);
  const message =
    conflicts.length === 1 ? `Apply failed with 1 conflict: ${lines[0] ?? ''}` : `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  const details: JsonObject = {
    name: req.name,
    kind: req.resource.plural,
    causes: conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with "${c.manager}" using ${c.apiVersion}`, field: field(c.path) })),
  };
  if (req.resource.group) details.group = req.resource.group;
  return new KubeError(409, 'Conflict', message, details);
}
