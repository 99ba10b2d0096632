// What the real server does to a Service on every write: carry over allocated values the
// request left out, drop fields its new type no longer allows, fill defaults, allocate a
// cluster IP from 10.96.0.0/12 and node ports from 30000-32767, then validate.
import { duplicate, forbidden, invalidValue, notSupported, required, type Cause } from './errors.js';
import { arrayAt, childObject, deepEqual, isObject, objectAt, stringAt, type Json, type JsonObject } from './json.js';

const CIDR = { base: ipToInt('10.96.0.0'), size: 1 << 20, text: '10.96.0.0/12' };
/** The first addresses are the kubernetes and kube-dns Services' in a real cluster. */
const FIRST_FREE_IP = 11;
const NODE_PORTS = { from: 30000, to: 32767 };
const TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];
const PROTOCOLS = ['TCP', 'UDP', 'SCTP'];

const externallyAccessible = (type: Json | undefined) => type === 'NodePort' || type === 'LoadBalancer';
const portsOf = (spec: JsonObject | undefined): JsonObject[] => (arrayAt(spec, 'ports') ?? []).filter(isObject);
const samePort = (a: JsonObject, b: JsonObject) => a.port === b.port && (a.protocol ?? 'TCP') === (b.protocol ?? 'TCP');
const empty = (v: Json | undefined) => v === undefined || v === null || v === '' || v === 0;

/** Defaults and allocations; returns allocation failures (the caller reports them as 422). */
export function prepareService(svc: JsonObject, old: JsonObject | undefined, others: readonly JsonObject[]): Cause[] {
  const spec = childObject(svc, 'spec');
  const oldSpec = objectAt(old, 'spec');
  spec.type ??= 'ClusterIP';
  if (oldSpec && oldSpec.type !== spec.type) dropTypeDependentFields(spec, oldSpec);
  if (oldSpec) carryAllocations(spec, oldSpec);
  spec.sessionAffinity ??= 'None';
  for (const port of portsOf(spec)) {
    port.protocol ??= 'TCP';
    if (port.port !== undefined) port.targetPort ??= port.port;
  }
  const causes: Cause[] = [];
  if (spec.type !== 'ExternalName') {
    causes.push(...allocateClusterIP(spec, oldSpec, others));
    spec.ipFamilies ??= ['IPv4'];
    spec.ipFamilyPolicy ??= 'SingleStack';
    spec.internalTrafficPolicy ??= 'Cluster';
  }
  if (externallyAccessible(spec.type)) {
    spec.externalTrafficPolicy ??= 'Cluster';
    if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
    causes.push(...allocateNodePorts(spec, oldSpec, others));
  }
  const status = childObject(svc, 'status');
  status.loadBalancer ??= {};
  return causes;
}

/** The server clears what only the old type allowed, unless the request changed it itself. */
function dropTypeDependentFields(spec: JsonObject, oldSpec: JsonObject): void {
  const dropIfUnchanged = (field: string) => {
    if (deepEqual(spec[field], oldSpec[field])) delete spec[field];
  };
  if (!externallyAccessible(spec.type)) {
    const oldPorts = portsOf(oldSpec);
    for (const port of portsOf(spec)) {
      const before = oldPorts.find((p) => samePort(p, port));
      if (before && port.nodePort === before.nodePort) delete port.nodePort;
    }
    dropIfUnchanged('externalTrafficPolicy');
    dropIfUnchanged('healthCheckNodePort');
  }
  if (spec.type !== 'LoadBalancer') {
    dropIfUnchanged('allocateLoadBalancerNodePorts');
    dropIfUnchanged('loadBalancerClass');
  }
  if (spec.type === 'ExternalName') {
    for (const f of ['clusterIP', 'clusterIPs', 'ipFamilies', 'ipFamilyPolicy', 'internalTrafficPolicy']) dropIfUnchanged(f);
  }
}

/** A replace that leaves out clusterIP or nodePort keeps the allocated ones, as on a real server. */
function carryAllocations(spec: JsonObject, oldSpec: JsonObject): void {
  if (spec.type === 'ExternalName' || oldSpec.type === 'ExternalName') return;
  if (empty(spec.clusterIP)) spec.clusterIP = oldSpec.clusterIP ?? null;
  if (!arrayAt(spec, 'clusterIPs')?.length && oldSpec.clusterIPs !== undefined) spec.clusterIPs = oldSpec.clusterIPs;
  if (!externallyAccessible(spec.type)) return;
  const oldPorts = portsOf(oldSpec);
  for (const port of portsOf(spec)) {
    const before = oldPorts.find((p) => samePort(p, port));
    if (empty(port.nodePort) && before?.nodePort !== undefined) port.nodePort = before.nodePort;
  }
  if (empty(spec.healthCheckNodePort) && oldSpec.healthCheckNodePort !== undefined && spec.externalTrafficPolicy === 'Local') {
    spec.healthCheckNodePort = oldSpec.healthCheckNodePort;
  }
}

function allocateClusterIP(spec: JsonObject, oldSpec: JsonObject | undefined, others: readonly JsonObject[]): Cause[] {
  const used = new Set(others.flatMap((o) => (arrayAt(objectAt(o, 'spec'), 'clusterIPs') ?? []).filter((ip) => typeof ip === 'string')));
  const requested = stringAt(spec, 'clusterIP');
  if (requested === 'None') {
    spec.clusterIPs ??= ['None'];
    return [];
  }
  if (requested && requested !== stringAt(oldSpec, 'clusterIP')) {
    const n = ipToInt(requested);
    const why = Number.isNaN(n)
      ? 'must be a valid IP address'
      : n < CIDR.base || n >= CIDR.base + CIDR.size
        ? `failed to allocate IP ${requested}: provided IP is not in the valid range. The range of valid IPs is ${CIDR.text}`
        : used.has(requested)
          ? `failed to allocate IP ${requested}: provided IP is already allocated`
          : '';
    if (why) return [invalidValue('spec.clusterIPs', [requested], why)];
  }
  if (!requested) {
    let n = FIRST_FREE_IP;
    while (used.has(intToIp(CIDR.base + n)) && n < CIDR.size - 1) n++;
    spec.clusterIP = intToIp(CIDR.base + n);
  }
  spec.clusterIPs ??= [spec.clusterIP ?? null];
  return [];
}

function allocateNodePorts(spec: JsonObject, oldSpec: JsonObject | undefined, others: readonly JsonObject[]): Cause[] {
  const used = new Set<Json | undefined>();
  for (const other of others) {
    const s = objectAt(other, 'spec');
    for (const p of portsOf(s)) if (p.nodePort !== undefined) used.add(p.nodePort);
    if (s?.healthCheckNodePort !== undefined) used.add(s.healthCheckNodePort);
  }
  const oldNodePorts = new Set<Json | undefined>(portsOf(oldSpec).map((p) => p.nodePort));
  const causes: Cause[] = [];
  const mine: JsonObject[] = [];
  const next = () => {
    let n = NODE_PORTS.from;
    while (used.has(n) || mine.some((p) => p.nodePort === n)) n++;
    return n;
  };
  const wantsNodePorts = !(spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts === false);
  portsOf(spec).forEach((port, i) => {
    const field = `spec.ports[${i}].nodePort`;
    if (empty(port.nodePort)) {
      if (wantsNodePorts) port.nodePort = next();
    } else if (!oldNodePorts.has(port.nodePort)) {
      const n = port.nodePort;
      if (typeof n !== 'number' || n < NODE_PORTS.from || n > NODE_PORTS.to) {
        causes.push(invalidValue(field, n, `provided port is not in the valid range. The range of valid ports is ${NODE_PORTS.from}-${NODE_PORTS.to}`));
      } else if (used.has(n) || mine.some((p) => p.nodePort === n && p.protocol === port.protocol)) {
        causes.push(invalidValue(field, n, 'provided port is already allocated'));
      }
    }
    mine.push(port);
  });
  if (spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local' && empty(spec.healthCheckNodePort)) {
    spec.healthCheckNodePort = next();
  }
  return causes;
}

export function validateService(svc: JsonObject, old: JsonObject | undefined): Cause[] {
  const spec = objectAt(svc, 'spec');
  if (!spec) return [required('spec')];
  const causes: Cause[] = [];
  if (!TYPES.includes(String(spec.type))) causes.push(notSupported('spec.type', spec.type, TYPES));
  if (!['None', 'ClientIP'].includes(String(spec.sessionAffinity))) causes.push(notSupported('spec.sessionAffinity', spec.sessionAffinity, ['ClientIP', 'None']));
  if (spec.type === 'ExternalName' && !stringAt(spec, 'externalName')) causes.push(required('spec.externalName'));
  const etp = spec.externalTrafficPolicy;
  if (etp !== undefined) {
    if (!externallyAccessible(spec.type) && !arrayAt(spec, 'externalIPs')?.length) {
      causes.push(invalidValue('spec.externalTrafficPolicy', etp, 'may only be set for externally-accessible services'));
    } else if (etp !== 'Cluster' && etp !== 'Local') causes.push(notSupported('spec.externalTrafficPolicy', etp, ['Cluster', 'Local']));
  }
  causes.push(...validatePorts(spec));
  const oldSpec = objectAt(old, 'spec');
  const oldIP = stringAt(oldSpec, 'clusterIP');
  if (oldIP && oldSpec?.type !== 'ExternalName' && spec.type !== 'ExternalName' && spec.clusterIP !== oldIP) {
    causes.push(invalidValue('spec.clusterIPs[0]', spec.clusterIPs, 'may not change once set'));
  }
  return causes;
}

function validatePorts(spec: JsonObject): Cause[] {
  const raw = spec.ports;
  const headless = spec.clusterIP === 'None';
  if (raw === undefined || (Array.isArray(raw) && raw.length === 0)) {
    return spec.type === 'ExternalName' || headless ? [] : [required('spec.ports')];
  }
  if (!Array.isArray(raw)) return [invalidValue('spec.ports', raw, 'must be a list')];
  const causes: Cause[] = [];
  const names = new Set<string>();
  const seen: JsonObject[] = [];
  raw.forEach((port, i) => {
    const at = `spec.ports[${i}]`;
    if (!isObject(port)) return void causes.push(invalidValue(at, port, 'must be an object'));
    const name = port.name;
    if (raw.length > 1 && (typeof name !== 'string' || name === '')) causes.push(required(`${at}.name`));
    if (typeof name === 'string' && name !== '') {
      if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 63) causes.push(invalidValue(`${at}.name`, name, 'must be a DNS-1123 label'));
      if (names.has(name)) causes.push(duplicate(`${at}.name`, name));
      names.add(name);
    }
    if (!validPort(port.port)) causes.push(invalidValue(`${at}.port`, port.port, 'must be between 1 and 65535, inclusive'));
    if (!PROTOCOLS.includes(String(port.protocol))) causes.push(notSupported(`${at}.protocol`, port.protocol, PROTOCOLS));
    const target = port.targetPort;
    if (!(validPort(target) || (typeof target === 'string' && /^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(target) && target.length <= 15))) {
      causes.push(invalidValue(`${at}.targetPort`, target, 'must be between 1 and 65535, inclusive, or an IANA service name'));
    }
    if (port.nodePort !== undefined && !externallyAccessible(spec.type)) {
      causes.push(forbidden(`${at}.nodePort`, `may not be used when \`type\` is '${String(spec.type)}'`));
    }
    if (seen.some((p) => samePort(p, port))) causes.push(duplicate(at, { port: port.port ?? null, protocol: port.protocol ?? null }));
    seen.push(port);
  });
  return causes;
}

const validPort = (p: Json | undefined) => typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 65535;

function ipToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return NaN;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

