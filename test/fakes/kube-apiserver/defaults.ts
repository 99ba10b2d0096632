// Server-side defaults per kind, applied on every create and update before validation.
import type { Cause } from './errors.js';
import { childObject, metadataOf, nameOf, namespaceOf, type JsonObject } from './json.js';
import type { Kind } from './kinds.js';
import { prepareService } from './service.js';
import type { Store } from './store.js';

/** Fill defaults in place; returns allocation failures (reported as 422 with validation's). */
export function applyDefaults(kind: Kind, object: JsonObject, old: JsonObject | undefined, store: Store): Cause[] {
  switch (kind.kind) {
    case 'Service': {
      const others = store.list(kind).filter((o) => namespaceOf(o) !== namespaceOf(object) || nameOf(o) !== nameOf(object));
      return prepareService(object, old, others);
    }
    case 'Namespace': {
      childObject(metadataOf(object), 'labels')['kubernetes.io/metadata.name'] = nameOf(object);
      childObject(object, 'spec').finalizers ??= ['kubernetes'];
      childObject(object, 'status').phase ??= 'Active';
      return [];
    }
    case 'Ingress':
      childObject(object, 'status').loadBalancer ??= {};
      return [];
    case 'Pod':
      childObject(object, 'status').phase ??= 'Pending';
      return [];
    case 'Lease':
      return [];
  }
}

