// HTTP(S)_PROXY and NO_PROXY for the clients that do not read them themselves (the AWS SDK): git, the
// GCP client and kubeconfig's proxy-url already do. The conventions are curl's: lower- or upper-case
// names, NO_PROXY entries matching a host and its sub-domains (`example.com`, `.example.com`), an
// optional `:port`, `*` for everything, and CIDRs for IP addresses (`10.0.0.0/8`).
import { BlockList, isIP } from 'node:net';
import { HttpProxyAgent } from 'http-proxy-agent';
import { HttpsProxyAgent } from 'https-proxy-agent';

type Env = Record<string, string | undefined>;

const read = (env: Env, name: string): string | undefined => env[name] || env[name.toLowerCase()] || undefined;

/** The proxy a request to `target` goes through, or undefined for a direct connection. */
export function proxyFor(target: URL, env: Env = process.env): string | undefined {
  const proxy = target.protocol === 'https:' ? (read(env, 'HTTPS_PROXY') ?? read(env, 'HTTP_PROXY')) : read(env, 'HTTP_PROXY');
  if (!proxy) return undefined;
  return bypassed(target, read(env, 'NO_PROXY') ?? '') ? undefined : proxy;
}

function bypassed(target: URL, noProxy: string): boolean {
  const host = target.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  for (const entry of noProxy.split(/[\s,]+/).filter(Boolean)) {
    if (entry === '*') return true;
    const { name, port: wantPort } = splitEntry(entry);
    if (wantPort !== undefined && wantPort !== port) continue;
    const bare = name.toLowerCase();
    if (bare.includes('/')) {
      if (inCidr(host, bare)) return true;
      continue;
    }
    const domain = bare.replace(/^\*?\./, '');
    if (host === domain || host.endsWith(`.${domain}`)) return true;
  }
  return false;
}

/** `[::1]:8080`, `host:8080`, `host`, and bare IPv6 (`fd00::/8`, several colons: no port). */
function splitEntry(entry: string): { name: string; port?: string } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) return { name: bracketed[1]!, ...(bracketed[2] ? { port: bracketed[2] } : {}) };
  if ((entry.match(/:/g) ?? []).length > 1) return { name: entry };
  const [name, port] = entry.split(':') as [string, string | undefined];
  return { name, ...(port ? { port } : {}) };
}

function inCidr(host: string, cidr: string): boolean {
  const family = isIP(host);
  const [network, bits] = cidr.split('/') as [string, string];
  if (family === 0 || isIP(network) !== family) return false;
  const list = new BlockList();
  list.addSubnet(network, Number(bits), family === 6 ? 'ipv6' : 'ipv4');
  return list.check(host, family === 6 ? 'ipv6' : 'ipv4');
}

/** Agents for an SDK's Node HTTP handler: through the proxy when `target` needs one, else none (the SDK's own). */
export function proxyAgents(target: URL, env: Env = process.env): { httpAgent?: HttpProxyAgent<string>; httpsAgent?: HttpsProxyAgent<string> } {
  const proxy = proxyFor(target, env);
  if (!proxy) return {};
  return target.protocol === 'https:' ? { httpsAgent: new HttpsProxyAgent(proxy) } : { httpAgent: new HttpProxyAgent(proxy) };
}
