/**
 * Where a configured value came from: the file that holds it, or the environment variable that
 * set it, and the value as written there (left out for secrets and URLs carrying a password).
 */
export interface ConfigSource {
  /** `config/development.yaml`, `PLATFORM_HTTP__BODY_LIMIT`, `SERVICE_SECRET_FILE (/run/secrets/x)`. */
  from: string;
  /** The value as written, quoted (`"banana"`); absent when it must not be shown. */
  value?: string;
}

/** One problem found while loading configuration, with the key path it concerns. */
export interface ConfigIssue {
  path: string;
  message: string;
  /** Who set the bad value, when the loader knows (an issue about a missing key has none). */
  source?: ConfigSource;
}

/**
 * One line an operator can act on:
 * `config: http.bodyLimit from PLATFORM_HTTP__BODY_LIMIT = "banana": expected a number of bytes, …`.
 */
export function renderConfigIssue(issue: ConfigIssue): string {
  const where = issue.source
    ? ` from ${issue.source.from}${issue.source.value === undefined ? '' : ` = ${issue.source.value}`}`
    : '';
  return `config: ${issue.path || '(root)'}${where}: ${readable(issue.message)}`;
}

/** Custom schema messages name what is wanted ("a number of bytes, …"): said as what was expected. */
const readable = (message: string): string => (/^an? /.test(message) ? `expected ${message}` : message);

/** Raised when configuration is invalid; lists every problem at once, one line each. */
export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(issues.map(renderConfigIssue).join('\n'));
    this.name = 'ConfigError';
  }
}
