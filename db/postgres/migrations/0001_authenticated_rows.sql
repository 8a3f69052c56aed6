CREATE TABLE "dpop_proofs" (
	"jti" text PRIMARY KEY NOT NULL,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "retired_refresh_tokens" DISABLE ROW LEVEL SECURITY;--> statement-breakpoint
DROP TABLE "retired_refresh_tokens" CASCADE;--> statement-breakpoint
DROP INDEX "sessions_refresh_token_hash";--> statement-breakpoint
DROP INDEX "sessions_previous_token_hash";--> statement-breakpoint
DROP INDEX "sessions_user_last_used";--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "name" text;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "dpop_jkt" text;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "mac" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "signing_keys" ADD COLUMN "mac" text DEFAULT '' NOT NULL;--> statement-breakpoint
CREATE INDEX "dpop_proofs_expires_at" ON "dpop_proofs" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "sessions_live_by_user" ON "sessions" USING btree ("user_id","last_used_at") WHERE "sessions"."revoked_at" is null;--> statement-breakpoint
CREATE INDEX "sessions_user_created" ON "sessions" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE INDEX "sessions_revoked_at" ON "sessions" USING btree ("revoked_at") WHERE "sessions"."revoked_at" is not null;--> statement-breakpoint
-- Keys made before their rows carried a MAC are never trusted again (server/core/integrity.ts); the
-- server makes a new one at start. Refresh tokens of the old format are refused too, so after this
-- migration every user signs in once more (README, "Upgrading").
DELETE FROM "signing_keys" WHERE "mac" = '';
