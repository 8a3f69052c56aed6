import { defineConfig } from "drizzle-kit";

// Generation only (`bun run db:generate:pg`): no database needed. The store applies the files at
// start with the driver's drizzle migrator, under an advisory lock (see migrate.ts).
export default defineConfig({
  dialect: "postgresql",
  schema: "./db/postgres/schema.ts",
  out: "./db/postgres/migrations",
});
