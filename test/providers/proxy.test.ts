// HTTP(S)_PROXY and NO_PROXY for the AWS SDK, which reads neither: the matching rules, and a real EC2
// client reaching moto through a forward proxy (or around it, when NO_PROXY says so).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import { proxyFor } from '../../agent/providers/proxy.js';
import { Ec2Clients } from '../../agent/providers/aws/clients.js';
import { startEc2Proxy, type Ec2Proxy } from '../fakes/ec2-proxy.js';
import { startMoto, type MotoServer } from '../helpers/moto.js';
import { credentials } from './aws/world.js';

describe('proxyFor', () => {
  const env = { HTTPS_PROXY: 'http://proxy.corp:3128', http_proxy: 'http://plain.corp:3128', NO_PROXY: 'internal.corp, .svc,10.0.0.0/8,fd00::/8,localhost:8443,[::1]' };
  const cases: [string, string | undefined][] = [
    ['https://ec2.us-east-1.amazonaws.com', 'http://proxy.corp:3128'],
    ['http://moto.example.com:5000/', 'http://plain.corp:3128'],
    ['https://internal.corp/', undefined],
    ['https://api.internal.corp/', undefined],
    ['https://notinternal.corp/', 'http://proxy.corp:3128'],
    ['https://kubernetes.default.svc/', undefined],
    ['https://10.1.2.3/', undefined],
    ['https://11.1.2.3/', 'http://proxy.corp:3128'],
    ['https://[fd00::1]/', undefined],
    ['https://localhost:8443/', undefined],
    ['https://localhost:9443/', 'http://proxy.corp:3128'],
    ['https://[::1]:8080/', undefined],
  ];
  for (const [url, want] of cases) it(`${url} → ${want ?? 'direct'}`, () => assert.equal(proxyFor(new URL(url), env), want));
  it('no proxy variables, or NO_PROXY=*, means direct', () => {
    assert.equal(proxyFor(new URL('https://ec2.us-east-1.amazonaws.com'), {}), undefined);
    assert.equal(proxyFor(new URL('https://ec2.us-east-1.amazonaws.com'), { HTTPS_PROXY: 'http://p:1', NO_PROXY: '*' }), undefined);
  });
});

describe('the AWS provider behind a forward proxy', () => {
  let moto: MotoServer;
  let proxy: Ec2Proxy;
  before(async () => {
    moto = await startMoto();
    // The counting proxy forwards absolute-form requests (`POST http://host:port/`) as a forward proxy does.
    proxy = await startEc2Proxy('http://127.0.0.1:1');
  });
  after(async () => {
    await proxy?.stop();
    await moto?.stop();
  });

  const describeVpcs = async (env: Record<string, string>) => {
    const clients = new Ec2Clients({ endpoint: moto.url, credentials, readAttempts: 1, requestTimeoutMs: 5_000, env });
    try {
      return (await clients.read('us-east-1').send(new DescribeVpcsCommand({}))).Vpcs ?? [];
    } finally {
      clients.destroy();
    }
  };

  it('goes through HTTP_PROXY, and around it for a NO_PROXY host', async () => {
    proxy.clear();
    assert.ok((await describeVpcs({ HTTP_PROXY: proxy.url })).length > 0, 'moto answered through the proxy');
    assert.equal(proxy.count('DescribeVpcs'), 1, 'the request went through the proxy');
    proxy.clear();
    await describeVpcs({ HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' });
    assert.equal(proxy.count('DescribeVpcs'), 0, 'NO_PROXY: straight to the endpoint');
  });
});
