import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import nunjucks from 'nunjucks';
import { templatesDir as shippedTemplatesDir } from '../paths.js';
import { TEMPLATES, type TemplateName } from './context.js';
import { dnsname, q } from './filters.js';

/** One template, compiled once, or why it could not be; `origin` says which file it came from. */
export type CompiledTemplate = { template: nunjucks.Template; origin: string } | { error: string; origin: string };

export interface TemplateSet {
  get(name: TemplateName): CompiledTemplate;
}

/**
 * The templates a renderer uses: each from the operator's directory when it holds one of that name, else the
 * shipped one. All are read and compiled here, so rendering does no I/O; a template that does not compile is
 * kept as an error and reported for each cluster that needs it.
 */
export function loadTemplates(operatorDir?: string): TemplateSet {
  const shipped = shippedTemplatesDir();
  const dirs = [shipped];
  if (operatorDir !== undefined) {
    const dir = resolve(operatorDir);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`templates directory ${operatorDir} does not exist`);
    dirs.unshift(dir);
  }
  const env = createEnvironment(dirs);
  const compiled = new Map<TemplateName, CompiledTemplate>();
  for (const name of Object.values(TEMPLATES)) {
    const dir = dirs.find((d) => existsSync(join(d, name))) ?? shipped;
    const origin = dir === shipped ? `shipped template ${name}` : `template ${join(dir, name)}`;
    try {
      compiled.set(name, { template: env.getTemplate(name, true), origin });
    } catch (error) {
      compiled.set(name, { error: errorText(error), origin });
    }
  }
  return { get: (name) => compiled.get(name)! };
}

/** A nunjucks environment for YAML: no HTML escaping (`q` does the escaping YAML needs), undefined is an error. */
export function createEnvironment(dirs: string[]): nunjucks.Environment {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(dirs), {
    autoescape: false,
    throwOnUndefined: true,
    trimBlocks: true,
    lstripBlocks: true,
  });
  env.addFilter('q', q);
  env.addFilter('dnsname', dnsname);
  return env;
}

/** A nunjucks error on one line: they come with the template path and line, and newlines. */
export function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s+/g, ' ').trim();
}
