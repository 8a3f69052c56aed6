/**
 * Turns what the core reports into lifecycle log lines and metrics. Only ids, reasons and
 * outcomes pass through here: the core never hands over a token or a hash.
 */
import type { SessionObserver } from "./core/ports";
import { fixedLine, type Logger } from "./logger";
import type { Metrics } from "./metrics";

export function createObserver(logger: Logger, metrics: Metrics): SessionObserver {
  // Written once per rotation, creation and revocation: hand-built lines (logger.ts fixedLine).
  const rotated = fixedLine(logger, "info", ["session_id"], "session rotated");
  const created = fixedLine(logger, "info", ["session_id", "user_id"], "session created");
  const revoked = fixedLine(logger, "info", ["session_id", "user_id", "reason"], "session revoked");
  return {
    refreshed(outcome, row) {
      metrics.refreshOutcomes.inc({ outcome });
      if (outcome === "rotated" && rotated.enabled()) rotated.write([row?.sessionId]);
      if (outcome === "reuse_revoked") {
        logger.warn({ session_id: row?.sessionId, user_id: row?.userId }, "refresh token reuse detected");
      }
    },
    tampered(kind, id) {
      metrics.tamperedRows.inc({ kind });
      logger.error({ kind, id }, "a stored row failed its integrity check (SECRET_KEY MAC) and was not used");
    },
    committed(events) {
      for (const event of events) {
        const { session_id, user_id, reason } = event.data as { session_id: string; user_id: string; reason?: string };
        if (event.type === "session.created") {
          metrics.sessionsCreated.inc();
          if (created.enabled()) created.write([session_id, user_id]);
        } else {
          metrics.sessionsRevoked.inc({ reason });
          if (revoked.enabled()) revoked.write([session_id, user_id, reason]);
        }
      }
    },
  };
}
