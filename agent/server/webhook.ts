// Push webhooks from GitHub and GitLab, checked without I/O: a delivery in, a verdict out. Secrets are
// compared in constant time, so response timing tells an attacker nothing about how close a guess was.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export type WebhookProvider = 'github' | 'gitlab';

/** Bigger deliveries are refused (413) before they are read whole: a push event is a few KiB. */
export const WEBHOOK_BODY_LIMIT = 1024 * 1024;

export type WebhookVerdict =
  | { kind: 'trigger'; ref: string }
  | { kind: 'ignored'; reason: string }
  | { kind: 'unauthorized'; reason: string }
  | { kind: 'bad_request'; reason: string };

/** Equal-length digests of both sides, so neither the length nor the content of the secret leaks. */
export function constantTimeEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}

/** GitHub's `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`. */
export function githubSignatureValid(body: Buffer, header: string | undefined, secret: string): boolean {
  if (!header || !header.startsWith('sha256=')) return false;
  const expected = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  return constantTimeEqual(header.toLowerCase(), expected);
}

/** GitLab sends the secret itself in `X-Gitlab-Token`. */
export function gitlabTokenValid(header: string | undefined, secret: string): boolean {
  return header !== undefined && header !== '' && constantTimeEqual(header, secret);
}

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/**
 * Whether a delivery should start a pass: it must be authentic first (nothing else is looked at before),
 * then a push to `refs/heads/<branch>`. Other events (GitHub's ping, tag pushes, merge requests) are
 * acknowledged and ignored.
 */
export function judgeDelivery(provider: WebhookProvider, headers: IncomingHttpHeaders, body: Buffer, secret: string, branch: string): WebhookVerdict {
  if (provider === 'github') {
    const signature = header(headers, 'x-hub-signature-256');
    if (!signature) return { kind: 'unauthorized', reason: 'missing X-Hub-Signature-256 header' };
    if (!githubSignatureValid(body, signature, secret)) return { kind: 'unauthorized', reason: 'X-Hub-Signature-256 does not match the body and the webhook secret' };
  } else {
    const token = header(headers, 'x-gitlab-token');
    if (!token) return { kind: 'unauthorized', reason: 'missing X-Gitlab-Token header' };
    if (!gitlabTokenValid(token, secret)) return { kind: 'unauthorized', reason: 'X-Gitlab-Token does not match the webhook secret' };
  }
  const event = provider === 'github' ? header(headers, 'x-github-event') : header(headers, 'x-gitlab-event');
  const push = provider === 'github' ? event === 'push' : event === 'Push Hook';
  if (!push) return { kind: 'ignored', reason: `event ${event ?? '(none)'} is not a push` };
  let payload: unknown;
  try {
    payload = JSON.parse(body.toString('utf8'));
  } catch {
    return { kind: 'bad_request', reason: 'the body is not JSON (set the webhook content type to application/json)' };
  }
  const ref = (payload as { ref?: unknown } | null)?.ref;
  if (typeof ref !== 'string') return { kind: 'bad_request', reason: 'the push event has no "ref"' };
  const watched = `refs/heads/${branch}`;
  if (ref !== watched) return { kind: 'ignored', reason: `push to ${ref}, not the watched ${watched}` };
  return { kind: 'trigger', ref };
}
