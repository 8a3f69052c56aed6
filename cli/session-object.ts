/**
 * The session object of `list --json` and `show --json` (CONTRACT §6): the fields of /session/me
 * without `current`, plus who owns it and how it ended. Built field by field from sessionView so
 * that no token hash, nonce or claim can slip into the output.
 */
import type { Device } from "../server/core/device";
import { iso } from "../server/core/events";
import { type SessionRow, type SessionStatus, sessionStatus } from "../server/core/ports";
import { type SessionView, sessionView } from "../server/core/sessions";

export interface SessionObject extends SessionView {
  user_id: string;
  status: SessionStatus;
  revoked_at: string | null;
  revoke_reason: string | null;
}

export function sessionObject(row: SessionRow, now: number): SessionObject {
  const view = sessionView(row);
  return {
    session_id: view.session_id,
    user_id: row.userId,
    user_agent: view.user_agent,
    ip: view.ip,
    created_at: view.created_at,
    last_used_at: view.last_used_at,
    expires_at: view.expires_at,
    name: view.name,
    ...(view.bound ? { bound: view.bound } : {}),
    device: view.device,
    status: sessionStatus(row, now),
    revoked_at: row.revokedAt === null ? null : iso(row.revokedAt),
    revoke_reason: row.revokeReason,
  };
}

/** A device in a few words for a table cell: "Chrome on macOS", "Googlebot", "iOS"; null when unknown. */
export function deviceLabel(device: Readonly<Device> | null): string | null {
  if (!device) return null;
  if (device.browser && device.os) return `${device.browser} on ${device.os}`;
  return device.browser ?? device.os;
}
