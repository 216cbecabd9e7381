/** One problem found while loading configuration, with the key path it concerns. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** Raised when configuration is invalid; lists every problem at once. */
export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}
