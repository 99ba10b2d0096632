import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { problemLine } from '../../agent/manifest/format-problem.js';
import { nodeCluster, stateOf } from './helpers.js';

// admin_policy is settings: its faults are problems with file:line:col like any other, and fail closed.
const problems = (config: string) => stateOf(config, { web: nodeCluster('web', '[80]') }).problems.map(problemLine);

describe('admin_policy settings', () => {
  it('an unknown built-in name, as a string or as name:, says what was meant', () => {
    assert.deepEqual(problems('admin_policy:\n  - deny-public-port\n'), ["config.yaml:2:5: unknown admin policy 'deny-public-port' — did you mean 'deny-public-ports'?"]);
    const byName = problems('admin_policy:\n  - {name: max-port, max: 3}\n');
    assert.equal(byName.length, 1);
    assert.match(byName[0]!, /^config\.yaml:2:12: 'admin_policy\.0\.name' must be one of .* — did you mean 'max-ports'\?$/);
  });

  it("a built-in's settings are checked by the schema, at their line and column", () => {
    assert.deepEqual(problems('admin_policy:\n  - name: allowed-port-ranges\n    rangez: [80]\n'), [
      "config.yaml:2:5: 'admin_policy.0' is missing required key 'ranges'",
      "config.yaml:3:5: unknown key 'rangez' — did you mean 'ranges'?",
    ]);
    assert.match(problems('admin_policy:\n  - {name: max-ports, max: zero}\n')[0]!, /^config\.yaml:2:28: 'admin_policy\.0\.max' must be an integer/);
    assert.match(problems('admin_policy:\n  - {name: deny-public-ports, mode: enforced}\n')[0]!, /did you mean 'enforce'\?/);
  });

  it('a REST policy must use TLS unless it stays on this machine; an entry names one kind', () => {
    assert.deepEqual(problems('admin_policy: http://policy.example.com/check\n'), ["config.yaml:1:15: admin policy URL 'http://policy.example.com/check' must be https:// (plain http only to localhost)"]);
    assert.deepEqual(problems('admin_policy:\n  - {module: /x.mjs, url: https://p.example.com}\n'), ['config.yaml:2:5: an admin_policy entry names exactly one of name: (a built-in), module: or url:, not module and url']);
  });

  it('a policy that cannot be set up fails closed: no cluster is trusted, every one keeps its last good state', () => {
    const state = stateOf('admin_policy: deny-public-port\n', { web: nodeCluster('web', '[80]') });
    assert.equal(state.settingsOk, false);
    assert.deepEqual(state.clusters, []);
    assert.deepEqual(state.brokenFiles, ['clusters/web.yaml']);
  });

  it('the pure core runs built-ins only, and says so for a module', () => {
    assert.deepEqual(problems('admin_policy: /etc/portcullis/p.mjs\n'), ['config.yaml:1:15: admin policy /etc/portcullis/p.mjs: is not a built-in policy, and this command runs built-in policies only']);
  });
});
