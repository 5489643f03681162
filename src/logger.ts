import pino, { type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';

/**
 * Paths scrubbed from every log line, should anything ever put them there:
 * credentials in headers, request bodies, and anything named like a value or key.
 * Nothing in this service logs a body; this is the second line of defence.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-auth-token"]',
  'req.headers["x-session-api-key"]',
  'req.body',
  'body',
  'value',
  '*.value',
  'apiKey',
  '*.apiKey',
  'masterKey',
  '*.masterKey',
];

export function createLogger(options: { level: string; format?: 'auto' | 'json' | 'pretty'; destination?: DestinationStream }): Logger {
  const readable = options.format === 'pretty' || (options.format === 'auto' && process.stdout.isTTY === true);
  const destination = options.destination ?? (readable ? pretty({ colorize: true, ignore: 'pid,hostname' }) : undefined);
  return pino(
    {
      level: options.level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: {
        // The path only, never the query string: a GraphQL GET carries its
        // variables there, and a value must never reach a log.
        req: (req: { method?: string; url?: string; ip?: string; socket?: { remotePort?: number } }) => ({
          method: req.method,
          url: req.url?.split('?')[0],
          remoteAddress: req.ip,
          remotePort: req.socket?.remotePort,
        }),
      },
    },
    destination,
  );
}
