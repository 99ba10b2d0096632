// The agent's structured log (pino, JSON lines on stderr), with credentials kept out: known keys are
// censored by pino's `redact`, and every string that goes out has URL credentials and the agent's own
// secrets masked, since git and SDK error messages quote URLs as they were given.
import { pino, stdSerializers, type Logger } from 'pino';
import { redactUrl } from './source/repo-source.js';

export { redactUrl };

const CENSOR = '***';
const SECRET_KEYS = ['token', 'password', 'secret', 'apiToken', 'webhookSecret', 'authorization', 'headers.authorization', 'headers["x-gitlab-token"]', 'headers["x-hub-signature-256"]'];

/** `text` with URL credentials and each of `secrets` masked. */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let out = redactUrl(text);
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join(CENSOR);
  return out;
}

function redactDeep(value: unknown, secrets: readonly string[], depth = 0): unknown {
  if (typeof value === 'string') return redactSecrets(value, secrets);
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  // An Error's message and stack are not enumerable: serialize it first, or it would come out as {}.
  if (value instanceof Error) return redactDeep(stdSerializers.err(value), secrets, depth + 1);
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, secrets, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v, secrets, depth + 1)]));
}

export interface LoggerOptions {
  /** Values that must never be printed (the webhook secret, the API token). */
  secrets?: readonly string[];
  /** Where lines go (default stderr). */
  destination?: pino.DestinationStream;
  level?: string;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const secrets = options.secrets ?? [];
  return pino(
    {
      level: options.level ?? process.env.PORTCULLIS_LOG_LEVEL ?? 'info',
      redact: { paths: [...SECRET_KEYS, ...SECRET_KEYS.map((k) => `*.${k}`)], censor: CENSOR },
      formatters: { log: (object) => redactDeep(object, secrets) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          const redacted = args.map((a) => (typeof a === 'string' ? redactSecrets(a, secrets) : a)) as typeof args;
          method.apply(this, redacted);
        },
      },
    },
    options.destination ?? pino.destination(2),
  );
}
