/**
 * The forged and bad access tokens, written once. test/http/access-tokens.test.ts sends each to the
 * server's user endpoints and test/verifier/bad-input.test.ts to verify(), so every case is checked
 * on both sides. Each entry names the rule that refuses it (RFC 8725, CONTRACT §2, §4, §9) and what
 * each side must answer: the server always `401 invalid_token` (§2); the verifier its `code` (§9),
 * or `accepted` where only the server can know the token is bad (it alone holds the sessions).
 *
 * The builders sign with the service's real private key wherever they can, so that only the named
 * flaw can be why a token is refused; both test files also check that the unflawed control passes.
 */
import { base64url, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";

/** The service's current signing key, as `KeyRing.signingKey()` gives it (Ed25519, the default alg). */
export interface RealSigningKey {
  kid: string;
  alg: string;
  key: CryptoKey;
}

export interface ForgedSession {
  user_id: string;
  session_id: string;
  access_token: string;
}

export interface ForgeryContext {
  signingKey: RealSigningKey;
  /** The signing key as the JWKS publishes it. */
  jwk: JWK & { kid: string; x: string };
  issuer: string;
  audience: string;
  /** The side's clock, in whole seconds. */
  now(): number;
  /** The victim: an active session with a real access token. */
  alice: ForgedSession;
  /** Another user's active session. */
  bob: ForgedSession;
  /** A key pair the service never saw, and a JWKS of the attacker's serving it under our kid. */
  attacker: { privateKey: CryptoKey; jwk: JWK & { kid: string }; jwksUrl: string };
}

/** What a side must do with the token. */
export type Outcome = "invalid_token" | "token_expired" | "accepted";

export interface ForgedToken {
  name: string;
  /** The rule that makes it bad. */
  rule: string;
  build(ctx: ForgeryContext): Promise<string>;
  /** Every user endpoint of the server: `401 invalid_token` and nothing changed; or accepted by GET /session/me. */
  server: Exclude<Outcome, "token_expired">;
  /** `verify()`: rejects with this VerifierError code, or resolves. */
  verifier: Outcome;
}

// ---- builders ----

const encode = (value: unknown) => base64url.encode(JSON.stringify(value));

/** The claims of a good token for `session`; an `undefined` in `extra` removes that claim. */
export function claimsFor(
  ctx: ForgeryContext,
  session: ForgedSession,
  extra: Record<string, unknown> = {},
): JWTPayload {
  const now = ctx.now();
  const claims: Record<string, unknown> = {
    iss: ctx.issuer,
    aud: ctx.audience,
    sub: session.user_id,
    sid: session.session_id,
    iat: now,
    exp: now + 900,
    jti: crypto.randomUUID(),
    ...extra,
  };
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
  return claims as JWTPayload;
}

const goodHeader = (ctx: ForgeryContext) => ({ alg: ctx.signingKey.alg, kid: ctx.signingKey.kid, typ: "at+jwt" });

/** Signed with jose and the real key; an `undefined` in `header` removes that member. */
export async function signReal(
  ctx: ForgeryContext,
  payload: JWTPayload,
  header: Record<string, unknown> = {},
): Promise<string> {
  const merged: Record<string, unknown> = { ...goodHeader(ctx), ...header };
  for (const [name, value] of Object.entries(merged)) if (value === undefined) delete merged[name];
  return new SignJWT(payload).setProtectedHeader(merged as never).sign(ctx.signingKey.key);
}

/**
 * A JWS made by hand with the real key, for what jose refuses to sign (unknown crit, a foreign alg,
 * segments that are not base64url of JSON): the signature is over exactly the two given segments.
 */
export async function signRawReal(ctx: ForgeryContext, headerSegment: string, payloadSegment: string): Promise<string> {
  if (ctx.signingKey.alg !== "EdDSA") throw new Error("the forged-token catalogue signs by hand with Ed25519 only");
  const input = new TextEncoder().encode(`${headerSegment}.${payloadSegment}`);
  const signature = new Uint8Array(await crypto.subtle.sign("Ed25519", ctx.signingKey.key, input));
  return `${headerSegment}.${payloadSegment}.${base64url.encode(signature)}`;
}

const signRawHeader = (ctx: ForgeryContext, header: Record<string, unknown>) =>
  signRawReal(ctx, encode(header), encode(claimsFor(ctx, ctx.alice)));

/** Signed by the attacker's key, with the header members given (no kid unless given). */
const signForeign = (ctx: ForgeryContext, header: Record<string, unknown>, payload = claimsFor(ctx, ctx.alice)) =>
  new SignJWT(payload)
    .setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", ...header } as never)
    .sign(ctx.attacker.privateKey);

/** Base64 with its `=` padding: a member is lengthened until there is some. */
function padded(header: Record<string, unknown>): string {
  for (let filler = ""; ; filler += "x") {
    const text = Buffer.from(JSON.stringify({ ...header, filler })).toString("base64");
    if (text.endsWith("=")) return text;
  }
}

/** Standard base64 (no padding) holding both `+` and `/`, which base64url never has. */
function standardBase64(payload: JWTPayload): string {
  // ">" and "?" encode to "+" and "/" at some offset; shift them until both show.
  for (let filler = ""; ; filler += "x") {
    const text = Buffer.from(JSON.stringify({ ...payload, filler, odd: ">>>???" }))
      .toString("base64")
      .replace(/=+$/, "");
    if (text.includes("+") && text.includes("/")) return text;
  }
}

/** alice's real token with its payload changed and the original signature kept. */
function tampered(ctx: ForgeryContext, change: (claims: Record<string, unknown>) => Record<string, unknown>) {
  const [h, p, s] = ctx.alice.access_token.split(".") as [string, string, string];
  const original = JSON.parse(new TextDecoder().decode(base64url.decode(p)));
  return `${h}.${encode({ ...original, ...change(original) })}.${s}`;
}

const REFUSED = { server: "invalid_token", verifier: "invalid_token" } as const;

function refused(name: string, rule: string, build: (ctx: ForgeryContext) => Promise<string> | string): ForgedToken {
  return { name, rule, build: async (ctx) => build(ctx), ...REFUSED };
}

/** Real key, good header, alice's claims with one change. */
const realClaims = (name: string, rule: string, extra: (ctx: ForgeryContext) => Record<string, unknown>) =>
  refused(`real key, ${name}`, rule, (ctx) => signReal(ctx, claimsFor(ctx, ctx.alice, extra(ctx))));

/** Real key, alice's claims, one header change. */
const realHeader = (name: string, rule: string, header: (ctx: ForgeryContext) => Record<string, unknown>) =>
  refused(`real key, ${name}`, rule, (ctx) => signReal(ctx, claimsFor(ctx, ctx.alice), header(ctx)));

// ---- the catalogue ----

const ALG = "RFC 8725 §3.1 / §2: alg must be the key's asymmetric alg (CONTRACT §4, §9)";
const SIG = "CONTRACT §2, §9: the signature must check out with a published key";
const KEYS = "RFC 8725 §3.10 / CONTRACT §9: keys come from the JWKS only, never from the token";
const CRIT = "RFC 7515 §4.1.11: an unknown or empty crit is refused; RFC 7797 b64=false is not a JWT (RFC 8725 §3.11)";
const SHAPE = "RFC 7515 §7.1 / CONTRACT §9: a compact JWS of three base64url segments of JSON";
const TYP = "RFC 8725 §3.11 / CONTRACT §2, §9: typ is at+jwt";
const ISS_AUD = "RFC 8725 §3.8, §3.9 / CONTRACT §2, §9: iss and aud must be ours";
const CLAIMS = "CONTRACT §9: sub, sid, iss, aud, iat, exp, jti are required (and §4: sub, sid strings)";
const TIME = "CONTRACT §2, §9: exp (and nbf) enforced with 5 s of leeway";
const SESSION = "CONTRACT §2: the session (sid) must be active and the caller's; the verifier has no sessions (§9)";

export const FORGED_TOKENS: readonly ForgedToken[] = [
  // alg
  refused(
    "alg none, no signature",
    ALG,
    (ctx) => `${encode({ ...goodHeader(ctx), alg: "none" })}.${encode(claimsFor(ctx, ctx.alice))}.`,
  ),
  refused("alg none with a real signature", ALG, (ctx) => {
    const signature = ctx.alice.access_token.split(".")[2];
    return `${encode({ ...goodHeader(ctx), alg: "none" })}.${encode(claimsFor(ctx, ctx.alice))}.${signature}`;
  }),
  refused(
    "alg None (other casing), no signature",
    ALG,
    (ctx) => `${encode({ ...goodHeader(ctx), alg: "None" })}.${encode(claimsFor(ctx, ctx.alice))}.`,
  ),
  refused("HS256 keyed with the public key bytes", ALG, (ctx) =>
    new SignJWT(claimsFor(ctx, ctx.alice))
      .setProtectedHeader({ alg: "HS256", kid: ctx.jwk.kid, typ: "at+jwt" })
      .sign(base64url.decode(ctx.jwk.x)),
  ),
  refused("HS256 keyed with the JWK text", ALG, (ctx) =>
    new SignJWT(claimsFor(ctx, ctx.alice))
      .setProtectedHeader({ alg: "HS256", kid: ctx.jwk.kid, typ: "at+jwt" })
      .sign(new TextEncoder().encode(JSON.stringify(ctx.jwk))),
  ),
  refused("real key, alg header ES256 on the Ed25519 key", ALG, (ctx) =>
    signRawHeader(ctx, { ...goodHeader(ctx), alg: "ES256" }),
  ),
  refused("real key, alg header RS256 on the Ed25519 key", ALG, (ctx) =>
    signRawHeader(ctx, { ...goodHeader(ctx), alg: "RS256" }),
  ),
  refused("real key, alg header PS256 on the Ed25519 key", ALG, (ctx) =>
    signRawHeader(ctx, { ...goodHeader(ctx), alg: "PS256" }),
  ),
  refused("real key, no alg header", ALG, (ctx) => signRawHeader(ctx, { kid: ctx.signingKey.kid, typ: "at+jwt" })),

  // signature
  refused("tampered payload (sub and sid of bob), original signature", SIG, (ctx) =>
    tampered(ctx, () => ({ sub: ctx.bob.user_id, sid: ctx.bob.session_id })),
  ),
  refused("tampered payload (exp a day later), original signature", SIG, (ctx) =>
    tampered(ctx, (claims) => ({ exp: (claims.exp as number) + 86_400 })),
  ),
  refused("tampered payload (an extra role claim), original signature", SIG, (ctx) =>
    tampered(ctx, () => ({ role: "admin" })),
  ),
  refused("flipped signature bit", SIG, (ctx) => {
    const [h, p, s] = ctx.alice.access_token.split(".") as [string, string, string];
    const signature = base64url.decode(s);
    signature[0]! ^= 1;
    return `${h}.${p}.${base64url.encode(signature)}`;
  }),
  refused("signature of alice's token on bob's token", SIG, (ctx) => {
    const [h, p] = ctx.bob.access_token.split(".");
    return `${h}.${p}.${ctx.alice.access_token.split(".")[2]}`;
  }),

  // kid and foreign keys
  refused("signed by a foreign key under an unknown kid", SIG, (ctx) => signForeign(ctx, { kid: "unknown-kid" })),
  refused("signed by a foreign key under our kid", SIG, (ctx) => signForeign(ctx, { kid: ctx.jwk.kid })),
  refused("signed by a foreign key with no kid", SIG, (ctx) => signForeign(ctx, {})),
  realHeader("an unknown kid", SIG, () => ({ kid: "nope" })),
  realHeader("no kid", "CONTRACT §9: a kid is required", () => ({ kid: undefined })),
  realHeader("an empty kid", "CONTRACT §9: a kid is required", () => ({ kid: "" })),
  refused("real key, kid a number", "CONTRACT §9: a kid is required", (ctx) =>
    signRawHeader(ctx, { ...goodHeader(ctx), kid: 7 }),
  ),

  // key references in the header
  refused("foreign key embedded as jwk, under our kid", KEYS, (ctx) =>
    signForeign(ctx, { kid: ctx.jwk.kid, jwk: ctx.attacker.jwk }),
  ),
  refused("foreign key embedded as jwk, no kid", KEYS, (ctx) => {
    const { kid: _, ...jwk } = ctx.attacker.jwk;
    return signForeign(ctx, { jwk });
  }),
  refused("foreign key behind jku", KEYS, (ctx) => signForeign(ctx, { jku: ctx.attacker.jwksUrl })),
  refused("foreign key behind jku, under our kid", KEYS, (ctx) =>
    signForeign(ctx, { jku: ctx.attacker.jwksUrl, kid: ctx.jwk.kid }),
  ),
  refused("foreign key behind x5u, under our kid", KEYS, (ctx) =>
    signForeign(ctx, { x5u: ctx.attacker.jwksUrl, kid: ctx.jwk.kid }),
  ),

  // Signed with the real key, so no forgery: the verifier refuses any key reference outright (§9); the
  // server, which never reads a key from the token, lets the unused member pass (§2 does not forbid it).
  {
    ...realHeader("a jku header pointing at the attacker's JWKS", KEYS, (ctx) => ({ jku: ctx.attacker.jwksUrl })),
    server: "accepted",
  },

  // crit and b64
  realHeaderRaw("an unknown critical header", CRIT, { crit: ["exp-check"], "exp-check": 1 }),
  realHeaderRaw("an empty crit", CRIT, { crit: [] }),
  realHeaderRaw("b64 false, payload still encoded", CRIT, { crit: ["b64"], b64: false }),
  refused("real key, b64 false with the payload unencoded", CRIT, (ctx) =>
    signRawReal(
      ctx,
      encode({ ...goodHeader(ctx), crit: ["b64"], b64: false }),
      JSON.stringify(claimsFor(ctx, ctx.alice)),
    ),
  ),

  // shape
  refused("garbage", SHAPE, () => "not-a-jwt-GARBAGE"),
  refused("truncated: two segments", SHAPE, (ctx) => ctx.alice.access_token.split(".").slice(0, 2).join(".")),
  refused("truncated: signature cut short", SHAPE, (ctx) => ctx.alice.access_token.slice(0, -4)),
  refused("truncated: empty signature", SHAPE, (ctx) => ctx.alice.access_token.replace(/[^.]+$/, "")),
  refused(
    "extra segment after a real token",
    SHAPE,
    (ctx) => `${ctx.alice.access_token}.${ctx.alice.access_token.split(".")[2]}`,
  ),
  refused("five segments (JWE-shaped)", SHAPE, () => "a.b.c.d.e"),
  refused("four short segments", SHAPE, () => "a.b.c.d"),
  refused("two short segments", SHAPE, () => "abc.def"),
  refused("whitespace inside", SHAPE, () => "abc.d ef.ghi"),
  refused("three empty segments", SHAPE, () => ".."),
  refused("base64url but not JSON", SHAPE, () => "YWJj.ZGVm.Z2hp"),
  refused("a refresh-token-shaped string", SHAPE, () => "x".repeat(43)),
  refused("non-ASCII segments", SHAPE, () => "ü.ö.ä"),
  // Signed with the real key over the padded text, so no forgery: the verifier holds to the compact
  // form (§9); the server's decoder (jose) tolerates the padding, and §2 asks no more.
  {
    ...refused("real key, header with base64 padding", SHAPE, (ctx) =>
      signRawReal(ctx, padded({ ...goodHeader(ctx), pad: "x" }), encode(claimsFor(ctx, ctx.alice))),
    ),
    server: "accepted",
  },
  refused("real key, payload in standard base64 (+ and /)", SHAPE, (ctx) =>
    signRawReal(ctx, encode(goodHeader(ctx)), standardBase64(claimsFor(ctx, ctx.alice))),
  ),
  refused("real key, header not JSON", SHAPE, (ctx) =>
    signRawReal(ctx, base64url.encode("{alg:EdDSA}"), encode(claimsFor(ctx, ctx.alice))),
  ),
  refused("real key, header a JSON array", SHAPE, (ctx) =>
    signRawReal(ctx, encode([goodHeader(ctx)]), encode(claimsFor(ctx, ctx.alice))),
  ),
  refused("real key, payload not JSON", SHAPE, (ctx) =>
    signRawReal(ctx, encode(goodHeader(ctx)), base64url.encode("sub=alice")),
  ),
  refused("real key, payload a JSON array", SHAPE, (ctx) =>
    signRawReal(ctx, encode(goodHeader(ctx)), encode([claimsFor(ctx, ctx.alice)])),
  ),
  refused(
    "huge header (1 MiB) under an unknown kid",
    "CONTRACT §9 and RFC 8725 §3.1: refused without being trusted",
    (ctx) => signForeign(ctx, { kid: "never-seen", junk: "A".repeat(1 << 20) }),
  ),

  // typ
  realHeader("typ JWT", TYP, () => ({ typ: "JWT" })),
  realHeader("typ jwt", TYP, () => ({ typ: "jwt" })),
  realHeader("typ at+JWT-nope", TYP, () => ({ typ: "at+JWT-nope" })),
  realHeader("typ dpop+jwt", TYP, () => ({ typ: "dpop+jwt" })),
  realHeader("no typ", TYP, () => ({ typ: undefined })),

  // iss and aud
  realClaims("wrong iss", ISS_AUD, () => ({ iss: "evil" })),
  realClaims("missing iss", ISS_AUD, () => ({ iss: undefined })),
  realClaims("wrong aud", ISS_AUD, () => ({ aud: "other-api" })),
  realClaims("aud list without ours", ISS_AUD, () => ({ aud: ["other", "more"] })),
  realClaims("missing aud", ISS_AUD, () => ({ aud: undefined })),

  // required claims
  realClaims("missing sub", CLAIMS, () => ({ sub: undefined })),
  realClaims("sub a number", CLAIMS, () => ({ sub: 7 })),
  realClaims("missing sid", CLAIMS, () => ({ sid: undefined })),
  realClaims("empty sid", CLAIMS, () => ({ sid: "" })),
  realClaims("sid a number", CLAIMS, () => ({ sid: 7 })),
  realClaims("missing jti", CLAIMS, () => ({ jti: undefined })),
  realClaims("missing iat", CLAIMS, () => ({ iat: undefined })),
  realClaims("iat a string", CLAIMS, (ctx) => ({ iat: String(ctx.now()) })),
  realClaims("missing exp", CLAIMS, () => ({ exp: undefined })),
  realClaims("exp a string", CLAIMS, (ctx) => ({ exp: String(ctx.now() + 900) })),

  // time
  {
    ...realClaims("exp 6 s in the past (beyond the leeway)", TIME, (ctx) => ({
      exp: ctx.now() - 6,
      iat: ctx.now() - 906,
    })),
    verifier: "token_expired",
  },
  realClaims("nbf 10 minutes in the future", TIME, (ctx) => ({ nbf: ctx.now() + 600 })),

  // sessions: only the server knows them; the verifier trusts a signed sid until it is revoked (§9)
  ...(
    [
      ["sid of a session that does not exist", () => ({ sid: "019ad1c2-7a3e-7c41-9b7e-3f1f5f0d2c11" })],
      ["sid that is not a UUID", () => ({ sid: "all" })],
      ["sub of another user than the session's", (ctx) => ({ sub: ctx.bob.user_id })],
      ["sid of another user's session", (ctx) => ({ sid: ctx.bob.session_id })],
    ] as Array<[string, (ctx: ForgeryContext) => Record<string, unknown>]>
  ).map(([name, extra]): ForgedToken => ({ ...realClaims(name, SESSION, extra), verifier: "accepted" })),
];

/** Real key, alice's claims, header members jose will not sign with (so the JWS is made by hand). */
function realHeaderRaw(name: string, rule: string, extra: Record<string, unknown>): ForgedToken {
  return refused(`real key, ${name}`, rule, (ctx) => signRawHeader(ctx, { ...goodHeader(ctx), ...extra }));
}

/** The control for the hand-made entries: the same JWS made by hand, unflawed, must be accepted. */
export const handMadeControl = (ctx: ForgeryContext) => signRawHeader(ctx, goodHeader(ctx));

/** The control for the jose-made entries: the real key and alice's correct claims. */
export const signedControl = (ctx: ForgeryContext) => signReal(ctx, claimsFor(ctx, ctx.alice));

/**
 * The attacker's key pair and a JWKS server of theirs that serves it under our kid and counts its
 * requests (jku and x5u must never be followed: `fetches` stays 0). `stop` in afterAll.
 */
export async function startAttacker(ourKid: string) {
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: ourKid };
  const state = { fetches: 0 };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () => {
      state.fetches++;
      return Response.json({ keys: [jwk] });
    },
  });
  return {
    key: { privateKey, jwk, jwksUrl: `http://127.0.0.1:${server.port}/jwks.json` },
    state,
    stop: () => server.stop(true),
  };
}
