// A small client of the dmzgate REST API for the command line (what a transfer tool's pre- and post-transfer
// hooks call). Errors come back as ApiClientError carrying the API's stable code.

export class ApiClientError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiClientError';
  }
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string | undefined,
  ) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), {
        method,
        headers: {
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(60_000),
      });
    } catch (e) {
      const why = (e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message;
      // Node trusts the public CAs only; a site's own CA is added from a file named in the environment.
      const hint = /certificate/i.test(why) ? " (to trust the issuer of the API's certificate: NODE_EXTRA_CA_CERTS=ISSUER.pem)" : '';
      throw new ApiClientError(0, 'DMZ_CLI_UNREACHABLE', `cannot reach the dmzgate API at ${this.baseUrl}: ${why}${hint}`);
    }
    const text = await res.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = undefined;
    }
    if (!res.ok) {
      const err = (data ?? {}) as { code?: string; message?: string };
      throw new ApiClientError(res.status, err.code ?? `HTTP_${res.status}`, err.message ?? (text.slice(0, 200) || res.statusText));
    }
    return data as T;
  }
}
