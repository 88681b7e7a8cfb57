/**
 * `litellm_params` keys whose values are credentials: LiteLLM's `/model/info` leaves them out
 * (LITELLM.md §5), and labops never shows their values.
 */
const SECRET_PARAMS = new Set([
  'api_key',
  'client_secret',
  'vertex_credentials',
  'aws_access_key_id',
  'aws_secret_access_key',
  'aws_session_token',
  'azure_password',
  'azure_ad_token',
]);

export const MASKED = '***';

export function isSecretParam(name: string): boolean {
  return SECRET_PARAMS.has(name);
}

/** `os.environ/NAME`: a reference LiteLLM resolves from its environment, not a secret itself. */
export function envReference(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return /^os\.environ\/([A-Za-z_][A-Za-z0-9_]*)$/.exec(value)?.[1];
}

/** A copy of the params with every secret value replaced by `***`; environment references stay. */
export function maskSecretParams(params: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(params).map(([key, value]) => [key, isSecretParam(key) && value != null && !envReference(value) ? MASKED : value]),
  );
}
