/** `user.deleted` payloads: a CloudEvents document whose data.user_id names the user, or plain {"user_id"}. */
import { checkUserId } from "../core/input";

export interface UserDeleted {
  userId: string;
  /** The CloudEvents `source`; null for a plain {"user_id"} payload (or a document without one). */
  source: string | null;
}

/** The user a payload names, and who says so; null when it cannot be understood. */
export function readUserDeleted(bytes: Uint8Array): UserDeleted | null {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return null;
  }
  if (!doc || typeof doc !== "object") return null;
  const record = doc as Record<string, unknown>;
  const data = record.data;
  const cloudEvent = "specversion" in record;
  const candidate =
    cloudEvent && data && typeof data === "object" ? (data as Record<string, unknown>).user_id : record.user_id;
  if (typeof candidate !== "string") return null;
  try {
    return {
      userId: checkUserId(candidate),
      source: cloudEvent && typeof record.source === "string" ? record.source : null,
    };
  } catch {
    return null;
  }
}
