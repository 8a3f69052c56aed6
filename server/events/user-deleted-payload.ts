/** `user.deleted` payloads: a CloudEvents document whose data.user_id names the user, or plain {"user_id"}. */
import { checkUserId } from "../core/input";

export function userIdOf(bytes: Uint8Array): string | null {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return null;
  }
  if (!doc || typeof doc !== "object") return null;
  const record = doc as Record<string, unknown>;
  const data = record.data;
  const candidate =
    "specversion" in record && data && typeof data === "object"
      ? (data as Record<string, unknown>).user_id
      : record.user_id;
  if (typeof candidate !== "string") return null;
  try {
    return checkUserId(candidate);
  } catch {
    return null;
  }
}
