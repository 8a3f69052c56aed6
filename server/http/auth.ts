/**
 * Credentials come only from the Authorization header (never the URL). Service keys guard the
 * internal endpoints; access tokens with a live session guard the user's own endpoints.
 */
import { ServiceError } from "../core/errors";
import type { Caller } from "../core/sessions";
import type { Core } from "../open-core";

/** invalid_token that remembers whether any Bearer credential was sent, for WWW-Authenticate. */
export class AccessDenied extends ServiceError {
  constructor(readonly credentialSent: boolean) {
    super("invalid_token");
  }
}

export function bearerOf(headers: Headers): string | null {
  const value = headers.get("authorization");
  const match = value ? /^Bearer +([^\s]+) *$/i.exec(value) : null;
  return match ? match[1] : null;
}

function clientOrRefuse(name: string | null): string {
  if (!name) throw new ServiceError("invalid_client");
  return name;
}

/** The service client's name, or invalid_client; a promise only when the store had to be asked. */
export function requireServiceClient(core: Core, headers: Headers): string | Promise<string> {
  const secret = bearerOf(headers);
  if (!secret) throw new ServiceError("invalid_client");
  const found = core.serviceKeys.authenticate(secret);
  return typeof found === "string" ? found : found.then(clientOrRefuse);
}

/**
 * Runs `use` with the request's access token; a missing or refused token becomes AccessDenied
 * (the WWW-Authenticate challenge depends on whether a Bearer credential was sent at all).
 */
export async function withAccessToken<T>(headers: Headers, use: (token: string) => Promise<T>): Promise<T> {
  const token = bearerOf(headers);
  if (!token)
    throw new AccessDenied(headers.get("authorization") !== null && /^Bearer\b/i.test(headers.get("authorization")!));
  try {
    return await use(token);
  } catch (error) {
    if (error instanceof ServiceError && error.code === "invalid_token") throw new AccessDenied(true);
    throw error;
  }
}

export const requireUser = (core: Core, headers: Headers): Promise<Caller> =>
  withAccessToken(headers, (token) => core.sessions.authenticate(token));
