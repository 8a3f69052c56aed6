import { defineConfig } from "drizzle-kit";

// Generation only: drizzle-kit cannot drive bun:sqlite, the server applies these with the bun-sqlite migrator.
export default defineConfig({
  dialect: "sqlite",
  schema: "./db/sqlite/schema.ts",
  out: "./db/sqlite/migrations",
});
