/**
 * The peer: panva's oidc-provider configured for the three workloads this service is compared on,
 * as a team would run it for refresh-token rotation, introspection and revocation. Every setting
 * is here and in bench/PEER.md.
 *
 * - One confidential client (client_secret_basic), grant types authorization_code + refresh_token.
 * - rotateRefreshToken: true — every refresh consumes the presented token and issues a new one.
 * - Access tokens for one resource server (resource indicators), format `jwt`, signed EdDSA
 *   (Ed25519) like this service's, 15 minutes; refresh tokens 14 days, grants 30 days (this
 *   service's idle timeout and maximum lifetime).
 * - Introspection (RFC 7662) and revocation (RFC 7009) on, callable by the token's own client.
 * - No scope `openid`, so no ID token is issued on refresh (this service issues none either).
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import Provider, { type AdapterFactory, type Configuration } from "oidc-provider";

export const CLIENT_ID = "bench-client";
/** The resource server the access tokens are for, and its one scope. */
export const RESOURCE = "urn:bench:api";
export const SCOPE = "api:read";
const ACCESS_TOKEN_TTL = 15 * 60;
const REFRESH_TOKEN_TTL = 14 * 86_400;
const GRANT_TTL = 30 * 86_400;

export interface PeerOptions {
  issuer: string;
  adapter: AdapterFactory;
  clientSecret: string;
}

/** The token's own client only (the library's default policy also lets other confidential clients). */
const sameClient = async (_ctx: unknown, client: { clientId: string }, token: { clientId?: string }) =>
  token.clientId === client.clientId;

export function createProvider({ issuer, adapter, clientSecret }: PeerOptions): Provider {
  const { privateKey } = generateKeyPairSync("ed25519");
  const signingKey = { ...privateKey.export({ format: "jwk" }), kid: "bench-ed25519", alg: "EdDSA", use: "sig" };
  const configuration: Configuration = {
    adapter,
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: clientSecret,
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        redirect_uris: ["https://client.bench.invalid/callback"],
        token_endpoint_auth_method: "client_secret_basic",
        id_token_signed_response_alg: "EdDSA",
      },
    ],
    jwks: { keys: [signingKey as never] },
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
    rotateRefreshToken: true,
    ttl: {
      AccessToken: ACCESS_TOKEN_TTL,
      RefreshToken: REFRESH_TOKEN_TTL,
      Grant: GRANT_TTL,
      AuthorizationCode: 60,
      Interaction: 3600,
      Session: REFRESH_TOKEN_TTL,
    },
    features: {
      devInteractions: { enabled: false },
      introspection: { enabled: true, allowedPolicy: sameClient as never },
      revocation: { enabled: true, allowedPolicy: sameClient as never },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => RESOURCE,
        useGrantedResource: async () => true,
        getResourceServerInfo: async () => ({
          scope: SCOPE,
          audience: RESOURCE,
          accessTokenTTL: ACCESS_TOKEN_TTL,
          accessTokenFormat: "jwt",
          jwt: { sign: { alg: "EdDSA" } },
        }),
      },
    },
  };
  return new Provider(issuer, configuration);
}

/**
 * A grant and its refresh token made with the provider's own models, as its authorization_code
 * grant leaves them: the grant holds the resource scope, the refresh token points at the grant.
 * Returns the refresh token's value.
 */
export async function mintRefreshToken(provider: Provider, accountId: string): Promise<string> {
  const client = await provider.Client.find(CLIENT_ID);
  if (!client) throw new Error(`client ${CLIENT_ID} is not registered`);
  const grant = new provider.Grant({ accountId, clientId: CLIENT_ID });
  grant.addResourceScope(RESOURCE, SCOPE);
  const grantId = await grant.save();
  const now = Math.floor(Date.now() / 1000);
  const token = new provider.RefreshToken({
    client,
    accountId,
    grantId,
    scope: SCOPE,
    resource: RESOURCE,
    gty: "authorization_code",
    authTime: now,
    iiat: now,
    expiresWithSession: false,
  });
  return token.save();
}
