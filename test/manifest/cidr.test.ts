import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCidr } from '../../agent/manifest/cidr.js';

describe('parseCidr: canonical forms', () => {
  const cases: [string, string][] = [
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['192.168.1.7/32', '192.168.1.7/32'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    [' 172.16.0.0/12 ', '172.16.0.0/12'],
    ['10.0.0.0/08', '10.0.0.0/8'],
    ['2001:db8::/32', '2001:db8::/32'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0000/32', '2001:db8::/32'],
    ['2001:DB8::ABCD/128', '2001:db8::abcd/128'],
    ['::/0', '::/0'],
    ['::1/128', '::1/128'],
    ['fe80::/10', 'fe80::/10'],
    // The longest run of zero groups is compressed; on a tie, the first.
    ['1:0:0:2:0:0:0:3/128', '1:0:0:2::3/128'],
    ['1:0:0:2:0:0:3:4/128', '1::2:0:0:3:4/128'],
    // A single zero group is not compressed.
    ['1:0:2:3:4:5:6:7/128', '1:0:2:3:4:5:6:7/128'],
    ['1:2:3:4:5:6:7:0/128', '1:2:3:4:5:6:7:0/128'],
    ['1:2:3:4:5:6:0:0/112', '1:2:3:4:5:6::/112'],
    ['::ffff:10.1.2.3/128', '::ffff:10.1.2.3/128'],
    ['::ffff:a01:203/128', '::ffff:10.1.2.3/128'],
    ['::ffff:10.1.0.0/112', '::ffff:10.1.0.0/112'],
    ['2001:db8:abcd:12::/64', '2001:db8:abcd:12::/64'],
  ];
  for (const [input, canonical] of cases) {
    it(`${JSON.stringify(input)} -> ${canonical}`, () => {
      assert.deepEqual(parseCidr(input), { cidr: canonical });
    });
  }
});

describe('parseCidr: errors say what to write instead', () => {
  const cases: [string, string][] = [
    ['10.0.0.1', "'10.0.0.1' is an address without a prefix length: write 10.0.0.1/32 for that one address"],
    ['2001:DB8::1', "'2001:DB8::1' is an address without a prefix length: write 2001:db8::1/128 for that one address"],
    ['10.0.0.1/8', "'10.0.0.1/8' has host bits set: did you mean 10.0.0.0/8?"],
    ['192.168.1.130/25', "'192.168.1.130/25' has host bits set: did you mean 192.168.1.128/25?"],
    ['2001:db8::1/32', "'2001:db8::1/32' has host bits set: did you mean 2001:db8::/32?"],
    ['2001:db8:ffff::/33', "'2001:db8:ffff::/33' has host bits set: did you mean 2001:db8:8000::/33?"],
    ['10.0.0.0/33', "'10.0.0.0/33' has prefix length '33': an IPv4 prefix length is 0-32"],
    ['::/129', "'::/129' has prefix length '129': an IPv6 prefix length is 0-128"],
    ['10.0.0.0/', "'10.0.0.0/' has prefix length '': an IPv4 prefix length is 0-32"],
    ['10.0.0.0/-1', "'10.0.0.0/-1' has prefix length '-1': an IPv4 prefix length is 0-32"],
    ['10.0.0.0/8/8', "'10.0.0.0/8/8' is not a CIDR: expected an address and a prefix length such as 10.0.0.0/8 or 2001:db8::/32"],
    ['10.0.0/8', "'10.0.0/8' is not a CIDR: expected an address and a prefix length such as 10.0.0.0/8 or 2001:db8::/32"],
    ['256.0.0.0/8', "'256.0.0.0/8' is not a CIDR: expected an address and a prefix length such as 10.0.0.0/8 or 2001:db8::/32"],
    ['010.0.0.0/8', "'010.0.0.0/8' is not a CIDR: expected an address and a prefix length such as 10.0.0.0/8 or 2001:db8::/32"],
    ['fe80::1%eth0/64', "'fe80::1%eth0/64' is not a CIDR: expected an address and a prefix length such as 10.0.0.0/8 or 2001:db8::/32"],
    ['anywhere', "'anywhere' is not a CIDR: expected an address and a prefix length such as 10.0.0.0/8 or 2001:db8::/32"],
    ['', "'' is not a CIDR: expected an address and a prefix length such as 10.0.0.0/8 or 2001:db8::/32"],
  ];
  for (const [input, error] of cases) {
    it(JSON.stringify(input), () => {
      assert.deepEqual(parseCidr(input), { error });
    });
  }
});
