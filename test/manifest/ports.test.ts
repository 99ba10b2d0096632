import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatRange, parsePorts, type Locate } from '../../agent/manifest/ports.js';
import type { PortSpec, Position, ProblemCode } from '../../agent/model.js';

const FILE = 'clusters/a.yaml';
const FORMS = 'expected 8080, "10020-10040", "[+][name:][tcp|udp:]port[-end]" or {port: …}';

// A stand-in for the YAML locator: the ports value sits on line 1, entry i on line i + 2, and inside an
// entry each key has its own column (a key not listed: 60; the j-th cidr: 40 + j).
const COLUMNS: Record<string, number> = { port: 10, protocol: 20, name: 30, public: 35, cidrs: 40 };
const locate: Locate = (path) => {
  const [entry, key, index] = typeof path[0] === 'number' ? path : [undefined, ...path];
  const line = typeof entry === 'number' ? entry + 2 : 1;
  const col = key === undefined ? 5 : (COLUMNS[String(key)] ?? 60) + (typeof index === 'number' ? index : 0);
  return { file: FILE, line, col };
};
const pos = (line: number, col = 5): Position => ({ file: FILE, line, col });

type Expected = Partial<PortSpec> & Pick<PortSpec, 'from'>;
/** The specs parsed from `value`, with the defaults of a plain private tcp port filled into `expected`. */
function assertPorts(value: unknown, expected: Expected[]): void {
  const result = parsePorts(value, locate, 'a');
  assert.deepEqual(result.problems, []);
  const full = expected.map((e) => ({ protocol: 'tcp', to: e.from, exposure: 'private', cidrs: [], names: [], at: pos(1), ...e }));
  assert.deepEqual(result.ports, full);
}

/** The problems parsed from `value`, as [code, line, col, message] (message: exact text or a pattern). */
function assertProblems(value: unknown, expected: [ProblemCode, number, number, string | RegExp][]): void {
  const { problems } = parsePorts(value, locate, 'a');
  assert.equal(problems.length, expected.length, problems.map((p) => p.message).join('\n'));
  expected.forEach(([code, line, col, message], i) => {
    const problem = problems[i]!;
    assert.equal(problem.code, code, problem.message);
    assert.deepEqual(problem.at, pos(line, col), problem.message);
    assert.equal(problem.severity, 'error');
    assert.equal(problem.cluster, 'a');
    if (typeof message === 'string') assert.equal(problem.message, message);
    else assert.match(problem.message, message);
  });
}

describe('parsePorts: SkyPilot resources.ports', () => {
  it('accepts an integer, a string, a range, or a list of them, as private tcp', () => {
    assertPorts(8888, [{ from: 8888 }]);
    assertPorts('8888', [{ from: 8888 }]);
    assertPorts('10020-10040', [{ from: 10020, to: 10040 }]);
    assertPorts([8888, '10020-10040', '22'], [{ from: 22, at: pos(4) }, { from: 8888, at: pos(2) }, { from: 10020, to: 10040, at: pos(3) }]);
    assertPorts(['1-65535'], [{ from: 1, to: 65535, at: pos(2) }]);
  });

  it('takes an empty list as no ports', () => {
    assertPorts([], []);
  });
});

describe('parsePorts: AMS service syntax', () => {
  const cases: [string, Omit<Expected, 'at'>][] = [
    ['ssh:tcp:22', { from: 22, names: ['ssh'] }],
    ['+tcp:80', { from: 80, exposure: 'public' }],
    ['udp:53', { from: 53, protocol: 'udp' }],
    ['+443', { from: 443, exposure: 'public' }],
    ['web:8080-8090', { from: 8080, to: 8090, names: ['web'] }],
    ['+http:tcp:80', { from: 80, exposure: 'public', names: ['http'] }],
    ['TCP:80', { from: 80 }],
    ['dns:UDP:53', { from: 53, protocol: 'udp', names: ['dns'] }],
    ['  +tcp:80 ', { from: 80, exposure: 'public' }],
    ['http:80', { from: 80, names: ['http'] }],
    ['a1-b2:9000', { from: 9000, names: ['a1-b2'] }],
    ['fifteen-chars-x:1', { from: 1, names: ['fifteen-chars-x'] }],
    ['+udp:10000-10010', { from: 10000, to: 10010, protocol: 'udp', exposure: 'public' }],
  ];
  for (const [text, expected] of cases) {
    it(JSON.stringify(text), () => {
      assertPorts([text], [{ ...expected, at: pos(2) }]);
      assertPorts(text, [{ ...expected, at: pos(1) }]);
    });
  }
});

describe('parsePorts: object form', () => {
  it('reads port, protocol, name, public and cidrs, with defaults tcp and private', () => {
    assertPorts(
      [{ port: 53, protocol: 'udp', cidrs: ['10.0.0.0/8'] }, { port: '10-20', public: true, name: 'web' }, { port: '80' }, { port: 81, protocol: 'TCP', public: false }],
      [
        { from: 10, to: 20, exposure: 'public', names: ['web'], at: pos(3) },
        { from: 80, to: 81, at: pos(4) },
        { from: 53, protocol: 'udp', cidrs: ['10.0.0.0/8'], at: pos(2) },
      ],
    );
  });

  it('canonicalises, sorts and de-duplicates cidrs', () => {
    assertPorts({ port: 22, public: true, cidrs: ['192.168.0.0/16', '2001:DB8::/32', '10.0.0.0/8', '10.0.0.0/08'] }, [
      { from: 22, exposure: 'public', cidrs: ['10.0.0.0/8', '192.168.0.0/16', '2001:db8::/32'] },
    ]);
  });

  it('takes an empty cidrs list as the default sources', () => {
    assertPorts([{ port: 22, cidrs: [] }, '22'], [{ from: 22, at: pos(2) }]);
  });
});

describe('parsePorts: rejections', () => {
  it('refuses ports outside 1-65535 and reversed ranges (PORT_RANGE)', () => {
    assertProblems([0, 70000, '40-10', '10-70000', '0-5', -5, '099999', { port: 65536 }, { port: '9-3' }], [
      ['PORT_RANGE', 2, 5, 'port 0 is out of range: ports are 1-65535'],
      ['PORT_RANGE', 3, 5, 'port 70000 is out of range: ports are 1-65535'],
      ['PORT_RANGE', 4, 5, 'range 40-10 is reversed: write 10-40'],
      ['PORT_RANGE', 5, 5, 'port 70000 is out of range: ports are 1-65535'],
      ['PORT_RANGE', 6, 5, 'port 0 is out of range: ports are 1-65535'],
      ['PORT_RANGE', 7, 5, 'port -5 is out of range: ports are 1-65535'],
      ['PORT_RANGE', 8, 5, 'port 99999 is out of range: ports are 1-65535'],
      ['PORT_RANGE', 9, 10, 'port 65536 is out of range: ports are 1-65535'],
      ['PORT_RANGE', 10, 10, 'range 9-3 is reversed: write 3-9'],
    ]);
  });

  it('refuses what does not parse, listing the accepted forms (PORT_SYNTAX)', () => {
    assertProblems(['80/tcp', 'ssh:tcp:22:1', '', 1.5, true, null, [80], '+:80', 'a::80', '+', 'ssh:', 'tcp:22x'], [
      ['PORT_SYNTAX', 2, 5, `'80/tcp' is not a port spec: write "tcp:80" — ${FORMS}`],
      ['PORT_SYNTAX', 3, 5, `'ssh:tcp:22:1' is not a port spec: ${FORMS}`],
      ['PORT_SYNTAX', 4, 5, `an empty string is not a port spec: ${FORMS}`],
      ['PORT_SYNTAX', 5, 5, `1.5 is not a port spec: ${FORMS}`],
      ['PORT_SYNTAX', 6, 5, `true is not a port spec: ${FORMS}`],
      ['PORT_SYNTAX', 7, 5, `null is not a port spec: ${FORMS}`],
      ['PORT_SYNTAX', 8, 5, `a list inside the ports list is not a port spec: ${FORMS}`],
      ['PORT_SYNTAX', 9, 5, `'+:80' is not a port spec: ${FORMS}`],
      ['PORT_SYNTAX', 10, 5, `'a::80' is not a port spec: ${FORMS}`],
      ['PORT_SYNTAX', 11, 5, `'+' is not a port spec: ${FORMS}`],
      ['PORT_SYNTAX', 12, 5, `'ssh:' is not a port spec: ${FORMS}`],
      ['PORT_SYNTAX', 13, 5, `'tcp:22x' is not a port spec: ${FORMS}`],
    ]);
    assertProblems(null, [['PORT_SYNTAX', 1, 5, `null is not a port spec: ${FORMS}`]]);
    assertProblems('+80/UDP', [['PORT_SYNTAX', 1, 5, `'+80/UDP' is not a port spec: write "+udp:80" — ${FORMS}`]]);
  });

  it('names tcp and udp for an unknown protocol', () => {
    assertProblems(['sctp:22', 'ssh:icmp:22', { port: 22, protocol: 'icmp' }, { port: 22, protocol: 6 }], [
      ['PORT_SYNTAX', 2, 5, "protocol 'sctp' is not supported: use tcp or udp"],
      ['PORT_SYNTAX', 3, 5, "protocol 'icmp' is not supported: use tcp or udp"],
      ['PORT_SYNTAX', 4, 20, "protocol 'icmp' is not supported: use tcp or udp"],
      ['PORT_SYNTAX', 5, 20, 'protocol: 6 is not a protocol: use tcp or udp'],
    ]);
  });

  it('says how to fix inner spaces, bad names and a protocol written before the name', () => {
    assertProblems(['tcp: 80', 'Web:80', 'this-is-too-long:80', 'web_1:80', '22:80', 'tcp:ssh:22', '+udp:dns:53'], [
      ['PORT_SYNTAX', 2, 5, "'tcp: 80' has spaces inside: write 'tcp:80'"],
      ['PORT_SYNTAX', 3, 5, /^name 'Web' is not a port name: write 'web' \(at most 15 lower-case/],
      ['PORT_SYNTAX', 4, 5, /^name 'this-is-too-long' is not a port name: use a word such as ssh or web/],
      ['PORT_SYNTAX', 5, 5, /^name 'web_1' is not a port name/],
      ['PORT_SYNTAX', 6, 5, /^name '22' is not a port name: .*with a letter/],
      ['PORT_SYNTAX', 7, 5, "'tcp:ssh:22' puts the protocol first: write 'ssh:tcp:22'"],
      ['PORT_SYNTAX', 8, 5, "'+udp:dns:53' puts the protocol first: write '+dns:udp:53'"],
    ]);
  });

  it('reports every fault of an object entry at its key', () => {
    assertProblems([{ port: 'tcp:80', public: 'yes', name: 'SSH', cidrs: ['10.0.0.0/8', '10.0.0.1/8', 7], prto: 1 }], [
      ['PORT_SYNTAX', 2, 10, /^port: 'tcp:80' is not a port: write a number such as 80 or a range such as "10020-10040"/],
      ['PORT_SYNTAX', 2, 35, "public: 'yes' is not true or false: write public: true for a public port"],
      ['PORT_SYNTAX', 2, 30, /^name 'SSH' is not a port name: write 'ssh'/],
      ['BAD_CIDR', 2, 41, "cidrs: '10.0.0.1/8' has host bits set: did you mean 10.0.0.0/8?"],
      ['BAD_CIDR', 2, 42, 'cidrs: 7 is not a CIDR: write one such as 10.0.0.0/8'],
      ['UNKNOWN_KEY', 2, 60, "unknown key 'prto' — did you mean 'port'?"],
    ]);
  });

  it('suggests the nearest key for an unknown one, or lists the known keys', () => {
    assertProblems([{ port: 22, proto: 'udp' }, { port: 22, pubilc: true }, { port: 22, exposure: 'public' }], [
      ['UNKNOWN_KEY', 2, 60, "unknown key 'proto' — did you mean 'protocol'?"],
      ['UNKNOWN_KEY', 3, 60, "unknown key 'pubilc' — did you mean 'public'?"],
      ['UNKNOWN_KEY', 4, 60, "unknown key 'exposure' — known keys here: port, protocol, name, public, cidrs"],
    ]);
  });

  it('wants a port in the object form, and cidrs as a list of CIDRs', () => {
    assertProblems([{ protocol: 'udp' }, { port: 22, cidrs: '10.0.0.0/8' }, { port: 22, name: 5 }, { port: true }], [
      ['PORT_SYNTAX', 2, 5, 'a port map needs a port: write e.g. {port: 8080, protocol: tcp}'],
      ['BAD_CIDR', 3, 40, "cidrs: must be a list such as [10.0.0.0/8, 2001:db8::/32], not '10.0.0.0/8'"],
      ['PORT_SYNTAX', 4, 30, 'name: 5 is not a name: write a word such as ssh'],
      ['PORT_SYNTAX', 5, 10, /^port: true is not a port/],
    ]);
  });

  it('positions faults of a value that is not a list without an index', () => {
    assertProblems({ port: 22, cidrs: ['10.0.0.0/8', 'nope'] }, [['BAD_CIDR', 1, 41, /^cidrs: 'nope' is not a CIDR/]]);
    assertProblems(70000, [['PORT_RANGE', 1, 5, 'port 70000 is out of range: ports are 1-65535']]);
  });

  it('keeps the entries that parse and tags problems with the cluster only when given', () => {
    const result = parsePorts(['80', 0, '+443'], locate);
    assert.deepEqual(
      result.ports.map((p) => [p.from, p.exposure]),
      [
        [80, 'private'],
        [443, 'public'],
      ],
    );
    assert.equal(result.problems.length, 1);
    assert.equal('cluster' in result.problems[0]!, false);
  });
});

describe('parsePorts: conflicts', () => {
  const fix = 'declare each port once, or with the same exposure and cidrs';

  it('points at the second declaration and names the first', () => {
    assertProblems(['22', '+22'], [['PORT_CONFLICT', 3, 5, `port tcp 22 is declared public here and private at ${FILE}:2:5: ${fix}`]]);
    assertProblems(['+22', 'ssh:tcp:22'], [['PORT_CONFLICT', 3, 5, `port tcp 22 is declared private here and public at ${FILE}:2:5: ${fix}`]]);
  });

  it('counts overlapping ranges, whichever comes first', () => {
    assertProblems(['20-30', '+25'], [['PORT_CONFLICT', 3, 5, `port tcp 25 is declared public here and private at ${FILE}:2:5: ${fix}`]]);
    assertProblems(['+25', '20-30'], [['PORT_CONFLICT', 3, 5, `port tcp 25 is declared private here and public at ${FILE}:2:5: ${fix}`]]);
    assertProblems(['10-20', '+15-30'], [['PORT_CONFLICT', 3, 5, `ports tcp 15-20 are declared public here and private at ${FILE}:2:5: ${fix}`]]);
  });

  it('finds an overlap with any earlier declaration, not only the nearest', () => {
    assertProblems(['+10-12', '30', '+1-5', '+25-35'], [['PORT_CONFLICT', 5, 5, `port tcp 30 is declared public here and private at ${FILE}:3:5: ${fix}`]]);
    assertProblems(['1-100', '+200', '+50'], [['PORT_CONFLICT', 4, 5, `port tcp 50 is declared public here and private at ${FILE}:2:5: ${fix}`]]);
  });

  it('reports each later declaration once', () => {
    assertProblems(['22', '+22', '+22'], [
      ['PORT_CONFLICT', 3, 5, `port tcp 22 is declared public here and private at ${FILE}:2:5: ${fix}`],
      ['PORT_CONFLICT', 4, 5, `port tcp 22 is declared public here and private at ${FILE}:2:5: ${fix}`],
    ]);
  });

  it('counts different cidrs as a conflict, and cidrs written differently but equal as none', () => {
    assertProblems([{ port: 22, cidrs: ['10.0.0.0/8'] }, '22'], [
      ['PORT_CONFLICT', 3, 5, `port tcp 22 is declared private here and private from 10.0.0.0/8 at ${FILE}:2:5: ${fix}`],
    ]);
    assertPorts(
      [
        { port: 22, cidrs: ['10.0.0.0/8', '192.168.0.0/16'] },
        { port: '22', cidrs: ['192.168.0.0/16', '10.0.0.0/08'] },
      ],
      [{ from: 22, cidrs: ['10.0.0.0/8', '192.168.0.0/16'], at: pos(2) }],
    );
  });

  it('keeps protocols apart', () => {
    assertPorts(['tcp:53', '+udp:53'], [
      { from: 53, at: pos(2) },
      { from: 53, protocol: 'udp', exposure: 'public', at: pos(3) },
    ]);
  });
});

describe('parsePorts: normalisation', () => {
  it('merges adjacent ranges', () => {
    assertPorts(['1-2', '3', '5-6', '7'], [
      { from: 1, to: 3, at: pos(2) },
      { from: 5, to: 7, at: pos(4) },
    ]);
  });

  it('merges overlaps and repeats of the same exposure', () => {
    assertPorts(['10-20', '15-30', '12', '30', 30], [{ from: 10, to: 30, at: pos(2) }]);
    assertPorts(['+80', '+tcp:80', { port: 80, public: true }], [{ from: 80, exposure: 'public', at: pos(2) }]);
  });

  it('keeps adjacent ranges with different exposure apart', () => {
    assertPorts(['1-10', '+11-20'], [
      { from: 1, to: 10, at: pos(2) },
      { from: 11, to: 20, exposure: 'public', at: pos(3) },
    ]);
  });

  it('unions and sorts the names of merged specs, and keeps the earliest declaration', () => {
    assertPorts(['9000', 'web:8999', 'http:9001', 'api:9000', { port: 9000, name: 'web' }], [{ from: 8999, to: 9001, names: ['api', 'http', 'web'], at: pos(2) }]);
  });

  it('sorts by protocol, then by the first port', () => {
    assertPorts(['udp:53', '+443', '80', 'tcp:22', 'udp:10-20'], [
      { from: 22, at: pos(5) },
      { from: 80, at: pos(4) },
      { from: 443, exposure: 'public', at: pos(3) },
      { from: 10, to: 20, protocol: 'udp', at: pos(6) },
      { from: 53, protocol: 'udp', at: pos(2) },
    ]);
  });
});

describe('formatRange', () => {
  it('writes one port or a range', () => {
    assert.equal(formatRange(80, 80), '80');
    assert.equal(formatRange(10, 20), '10-20');
  });
});
