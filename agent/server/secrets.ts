import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { constantTimeEqual } from './webhook.js';

/**
 * A secret from a file flag (a mounted Kubernetes Secret) or else an environment variable. A file wins:
 * it can be rotated without restarting with a new environment. Trailing newlines are dropped.
 */
export function readSecret(file: string | undefined, envName: string, flag: string): string | undefined {
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`${flag} ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
    const secret = text.replace(/[\r\n]+$/, '');
    if (secret === '') throw new Error(`${flag} ${file}: the file is empty; put the secret in it, or drop ${flag}`);
    return secret;
  }
  const value = process.env[envName];
  return value === undefined || value === '' ? undefined : value;
}

/** `Authorization: Bearer <token>` matches `token`, compared in constant time. */
export function bearerValid(req: IncomingMessage, token: string): boolean {
  const given = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
  return given !== undefined && constantTimeEqual(given, token);
}
