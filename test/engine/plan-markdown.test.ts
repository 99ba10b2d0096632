import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PLAN_COMMENT_MARKER } from '../../agent/engine/plan-markdown.js';
import { assertGolden } from '../helpers/golden.js';
import { reviewPlan } from './review-fixture.js';

const golden = fileURLToPath(new URL('./golden/plan-review.md', import.meta.url));

describe('plan --format markdown between two real commits', () => {
  it('matches the golden comment body, and exits 1 on the enforce denial', async () => {
    const { status, out } = await reviewPlan('markdown');
    assertGolden(golden, out);
    assert.equal(status, 1);
  });

  it('puts the verdict first and makes the public opening stand out', async () => {
    const { out } = await reviewPlan('markdown');
    const lines = out.split('\n');
    assert.equal(lines[0], PLAN_COMMENT_MARKER);
    assert.match(lines[3]!, /^\*\*❌ Denied by admin policy:\*\* 1 violation/);
    assert.ok(lines.includes('| ➕ open | tcp | 8080 | 🌐 **PUBLIC** | `clusters/web.yaml:5` |'), out);
    assert.ok(out.includes('**Plan: 3 to open, 1 to close, 0 to change.** 🌐 1 change opening ports to anywhere.'), out);
    assert.ok(out.includes('| ❌ denied | `deny-public-ports/public-port` | api |'), out);
    assert.ok(out.includes('| ⚠️ warning | `max-ports/too-many-ports` | web |'), out);
    assert.match(out, /<details><summary>Full plan<\/summary>\n\n```text\nportcullis plan: BASE → HEAD\n[\s\S]*Plan: 3 to open, 1 to close, 0 to change\.\n```\n\n<\/details>\n$/);
  });
});
