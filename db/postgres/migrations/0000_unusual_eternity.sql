CREATE TABLE "deleted_users" (
	"user_id" text PRIMARY KEY NOT NULL,
	"deleted_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "leases" (
	"name" text PRIMARY KEY NOT NULL,
	"owner" text NOT NULL,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "outbox" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"id" text NOT NULL,
	"subject" text NOT NULL,
	"payload" text NOT NULL,
	"created_at" bigint NOT NULL,
	"sent_at" bigint,
	CONSTRAINT "outbox_id_unique" UNIQUE("id")
);
--> statement-breakpoint
CREATE TABLE "retired_refresh_tokens" (
	"token_hash" text PRIMARY KEY NOT NULL,
	"session_id" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "service_clients" (
	"name" text PRIMARY KEY NOT NULL,
	"key_hash" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"session_id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"refresh_token_hash" text NOT NULL,
	"previous_token_hash" text,
	"rotation_nonce" text,
	"rotated_at" bigint,
	"rotation_count" integer DEFAULT 0 NOT NULL,
	"user_agent" text,
	"ip" text,
	"claims" text,
	"created_at" bigint NOT NULL,
	"last_used_at" bigint NOT NULL,
	"absolute_expires_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	"access_expires_at" bigint NOT NULL,
	"revoked_at" bigint,
	"revoke_reason" text
);
--> statement-breakpoint
CREATE TABLE "signing_keys" (
	"kid" text PRIMARY KEY NOT NULL,
	"alg" text NOT NULL,
	"public_jwk" text NOT NULL,
	"private_key_encrypted" text NOT NULL,
	"created_at" bigint NOT NULL,
	"activates_at" bigint NOT NULL,
	"retired_at" bigint
);
--> statement-breakpoint
CREATE INDEX "outbox_sent_at" ON "outbox" USING btree ("sent_at","seq");--> statement-breakpoint
CREATE INDEX "retired_refresh_tokens_session" ON "retired_refresh_tokens" USING btree ("session_id");--> statement-breakpoint
CREATE UNIQUE INDEX "service_clients_key_hash" ON "service_clients" USING btree ("key_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "sessions_refresh_token_hash" ON "sessions" USING btree ("refresh_token_hash");--> statement-breakpoint
CREATE INDEX "sessions_previous_token_hash" ON "sessions" USING btree ("previous_token_hash");--> statement-breakpoint
CREATE INDEX "sessions_user_last_used" ON "sessions" USING btree ("user_id","last_used_at");--> statement-breakpoint
CREATE INDEX "sessions_expires_at" ON "sessions" USING btree ("expires_at");