/** What the checks derive from the history: which session each token belongs to, and each token's refreshes. */
import type { Op } from "../history";

export interface Facts {
  /** Every refresh token a 201 or 200 handed out → its session. */
  sessionOfToken: Map<string, string>;
  /** Session → every token handed out for it, in the order they were first seen. */
  tokensOfSession: Map<string, string[]>;
  /** Presented token → its refreshes answered 200. */
  refreshedOk: Map<string, Op[]>;
  /** Session → the user of its 201. */
  userOfSession: Map<string, string>;
}

export function deriveFacts(ops: Op[]): Facts {
  const sessionOfToken = new Map<string, string>();
  const tokensOfSession = new Map<string, string[]>();
  const refreshedOk = new Map<string, Op[]>();
  const userOfSession = new Map<string, string>();
  for (const op of ops) {
    const token = op.body?.refresh_token;
    const sessionId = op.body?.session_id;
    if ((op.kind === "create" && op.status === 201) || (op.kind === "refresh" && op.status === 200)) {
      if (typeof token === "string" && typeof sessionId === "string") {
        if (!sessionOfToken.has(token)) {
          sessionOfToken.set(token, sessionId);
          tokensOfSession.set(sessionId, [...(tokensOfSession.get(sessionId) ?? []), token]);
        }
        if (op.kind === "create") userOfSession.set(sessionId, op.userId);
      }
    }
    if (op.kind === "refresh" && op.status === 200 && op.token) {
      refreshedOk.set(op.token, [...(refreshedOk.get(op.token) ?? []), op]);
    }
  }
  return { sessionOfToken, tokensOfSession, refreshedOk, userOfSession };
}

/** Whether some instance said the token is active at the end (null answers are no evidence). */
export function activeAnywhere(validations: Map<string, Array<boolean | null>>, token: string): boolean {
  return (validations.get(token) ?? []).some((active) => active === true);
}
