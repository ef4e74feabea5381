/** Command-line options of the HTTP servers (API, dashboard, metrics) shared by every process. */

/** Environment variable holding the bearer token when `--http-token` is not given. */
export const HTTP_TOKEN_ENV = 'MRM_HTTP_TOKEN';

/** HTTP options of `mrm coordinator` and `mrm worker`. */
export interface HttpCommandOptions {
  /** Address to listen on (default 127.0.0.1: this machine only). */
  readonly httpHost?: string;
  /** Bearer token every request must carry (default `$MRM_HTTP_TOKEN`, else none). */
  readonly httpToken?: string;
  /** Port of `/metrics` (0: any free port); none when absent. */
  readonly metricsPort?: number;
}

/** The bearer token: `--http-token`, else `MRM_HTTP_TOKEN`, else none. */
export function httpToken(options: HttpCommandOptions): string | undefined {
  const token = options.httpToken ?? process.env[HTTP_TOKEN_ENV];
  return token === undefined || token === '' ? undefined : token;
}
