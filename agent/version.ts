import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './paths.js';

export const VERSION: string = (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;

/** The build's git commit, when the image or CI sets it. */
export const COMMIT: string = process.env.PORTCULLIS_COMMIT ?? 'unknown';
