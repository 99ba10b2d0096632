import { isEqualJson } from '../../engine/resource-diff.js';
import type { JsonObject } from '../../model.js';
import { ProviderError } from '../provider.js';
import { operationOf, type Compute } from './compute.js';
import { apiFailure, failed } from './errors.js';
import { ownerOf, toApi, toPatch, toResource, updatePlan, type ApiFirewall } from './firewall-body.js';

/**
 * The writes of one change: insert, patch or PUT, delete, each waited on until its operation is DONE.
 * Bodies are rendered rule bodies; every rule written is stamped with the pass's config revision.
 * No retries here (the engine retries transient failures), only the answers that mean "done already":
 * 409 on insert for a rule that is there as asked, 404 on delete.
 */
export class RuleWriter {
  constructor(
    private readonly compute: Compute,
    private readonly revision: string,
  ) {}

  private get options() {
    return { timeout: this.compute.timeouts.callMs };
  }

  async insert(body: JsonObject): Promise<void> {
    const [project, subject] = where(body);
    try {
      const [lro] = await this.compute.firewalls.insert({ project, firewallResource: toApi(body, this.revision) }, this.options);
      await this.compute.settle(project, operationOf(lro), subject, 'insert');
    } catch (err) {
      const failure = apiFailure(err);
      if (err instanceof ProviderError || (failure.status !== 409 && failure.reason !== 'alreadyExists')) throw failed(subject, 'insert', err);
      await this.adopt(body);
    }
  }

  /** After a 409 on insert: the rule is there already (an earlier try whose answer was lost, say). */
  private async adopt(body: JsonObject): Promise<void> {
    const [project, subject, name] = where(body);
    let existing: ApiFirewall;
    try {
      [existing] = await this.compute.firewalls.get({ project, firewall: name }, this.options);
    } catch (err) {
      // Still being created by the earlier write: the next try will find it.
      if (apiFailure(err).status === 404) throw new ProviderError(`${subject} insert failed: it exists but cannot be read yet`, true, { cause: err });
      throw failed(subject, 'insert (reading the existing rule)', err);
    }
    const cluster = ownerOf(existing);
    if (cluster === undefined) {
      throw new ProviderError(`${subject} insert failed: a rule of that name exists without portcullis's mark; portcullis leaves it alone: rename or delete it`, false);
    }
    const held = toResource(project, existing, cluster).body;
    if (isEqualJson(held, body)) return;
    const plan = updatePlan(body, held);
    if (plan === 'recreate') throw new ProviderError(`${subject} insert failed: a rule of that name exists on another network or direction`, false);
    await this.update(body, plan);
  }

  async update(body: JsonObject, plan: 'patch' | 'replace'): Promise<void> {
    const [project, subject, name] = where(body);
    try {
      const request = { project, firewall: name, firewallResource: plan === 'patch' ? toPatch(body, this.revision) : toApi(body, this.revision) };
      const [lro] = plan === 'patch' ? await this.compute.firewalls.patch(request, this.options) : await this.compute.firewalls.update(request, this.options);
      await this.compute.settle(project, operationOf(lro), subject, plan);
    } catch (err) {
      // Deleted by hand since it was observed: put it back.
      if (!(err instanceof ProviderError) && apiFailure(err).status === 404) return this.insert(body);
      throw failed(subject, plan, err);
    }
  }

  async delete(body: JsonObject): Promise<void> {
    const [project, subject, name] = where(body);
    try {
      const [lro] = await this.compute.firewalls.delete({ project, firewall: name }, this.options);
      await this.compute.settle(project, operationOf(lro), subject, 'delete');
    } catch (err) {
      if (!(err instanceof ProviderError) && apiFailure(err).status === 404) return;
      throw failed(subject, 'delete', err);
    }
  }
}

/** The project, the subject for messages (`FirewallRule/{project}/{name}`) and the name of a rule. */
function where(body: JsonObject): [project: string, subject: string, name: string] {
  const project = body.project as string;
  const name = body.name as string;
  return [project, `FirewallRule/${project}/${name}`, name];
}
