/** How long a JWKS answer may be kept, from its Cache-Control header (RFC 9111 §5.2.2). */

/** Without a usable header: the service's default JWKS_MAX_AGE. */
export const DEFAULT_MAX_AGE_S = 300;
/** Never refetch more often than this, whatever the header says (no-cache, max-age=0). */
export const MIN_MAX_AGE_S = 1;
/** Nor keep keys longer than this: a retired key must leave eventually. */
export const MAX_MAX_AGE_S = 86_400;

export function maxAgeSeconds(header: string | null): number {
  if (!header) return DEFAULT_MAX_AGE_S;
  let maxAge: number | null = null;
  for (const part of header.split(",")) {
    const [name, value] = part.trim().toLowerCase().split("=", 2) as [string, string | undefined];
    if (name === "no-store" || name === "no-cache") return MIN_MAX_AGE_S;
    if (name === "max-age" && value !== undefined) {
      const unquoted = value.replace(/^"(.*)"$/, "$1");
      if (/^\d+$/.test(unquoted)) maxAge = Number(unquoted);
    }
  }
  if (maxAge === null) return DEFAULT_MAX_AGE_S;
  return Math.min(MAX_MAX_AGE_S, Math.max(MIN_MAX_AGE_S, maxAge));
}
