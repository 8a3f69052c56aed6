/**
 * GET /docs (the OpenAPI UI) and GET /docs/json (the document), self-contained (CONTRACT §3
 * Operations): Swagger UI's script, style sheet and icons are served from the installed
 * swagger-ui-dist package, the page loads nothing else, and its Content-Security-Policy allows no
 * other origin. @elysiajs/swagger still builds the document from the routes' schemas, but its own
 * page loads Swagger UI from a public CDN, so that page is replaced by ours before it is sent.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { swagger } from "@elysiajs/swagger";
import { Elysia, t } from "elysia";
import { ServiceError } from "../core/errors";

/**
 * Only this service's origin, for everything. Swagger UI sets style attributes from React
 * (style-src 'unsafe-inline', which lets no other origin in); its CSS inlines its icons as data: URLs.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const SWAGGER_UI_DIR = dirname(Bun.resolveSync("swagger-ui-dist/package.json", import.meta.dir));

/** Starts Swagger UI on the document; a file rather than an inline script, so script-src stays 'self'. */
const INIT_SCRIPT = `window.ui = SwaggerUIBundle({
  url: new URL("docs/json", document.baseURI).href,
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
`;

/** The files the page may load, read once at start (the bundle is 1.7 MB: not per request). */
const ASSETS: Record<string, { type: string; body: () => Uint8Array | string }> = {
  "swagger-ui-bundle.js": { type: "text/javascript; charset=utf-8", body: packageFile("swagger-ui-bundle.js") },
  "swagger-ui.css": { type: "text/css; charset=utf-8", body: packageFile("swagger-ui.css") },
  "favicon-32x32.png": { type: "image/png", body: packageFile("favicon-32x32.png") },
  "init.js": { type: "text/javascript; charset=utf-8", body: () => INIT_SCRIPT },
};

function packageFile(name: string): () => Uint8Array {
  let bytes: Uint8Array | null = null;
  return () => {
    bytes ??= readFileSync(join(SWAGGER_UI_DIR, name));
    return bytes;
  };
}

/** Relative URLs, so the page also works behind a gateway that adds a path prefix (as the plugin's did). */
const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Session Service API</title>
  <link rel="stylesheet" href="docs/assets/swagger-ui.css">
  <link rel="icon" type="image/png" href="docs/assets/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/assets/swagger-ui-bundle.js"></script>
  <script src="docs/assets/init.js"></script>
</body>
</html>
`;

const docsHeaders = (type: string) => ({
  "content-type": type,
  "content-security-policy": DOCS_CSP,
  "x-content-type-options": "nosniff",
});

const page = () =>
  new Response(PAGE, { headers: { ...docsHeaders("text/html; charset=utf-8"), "cache-control": "no-cache" } });

export const docsRoutes = () =>
  new Elysia({ name: "docs", normalize: false })
    // Local to this instance: it sees only the plugin's two routes, never the API's.
    .onAfterHandle(({ path, set, response }) => {
      if (path === "/docs") return page();
      set.headers["content-security-policy"] = DOCS_CSP;
      // Elysia's noValidate flag (models.ts answerOnlyUnion) is ours, not an OpenAPI keyword.
      if (path === "/docs/json" && response && typeof response === "object" && !(response instanceof Response))
        return JSON.parse(JSON.stringify(response, (key, value) => (key === "noValidate" ? undefined : value)));
    })
    .use(
      swagger({
        path: "/docs",
        specPath: "/docs/json",
        exclude: ["/docs", "/docs/json", "/docs/assets/{file}"],
        // By default the plugin drops every path with a dot as a "static file", the JWKS included.
        excludeStaticFile: false,
        documentation: {
          info: {
            title: "Session Service",
            version: "1.0.0",
            description: "Sessions, access/refresh token pairs with safe rotation, logout, and session events.",
          },
          tags: [
            { name: "internal", description: "Internal services with a service key" },
            { name: "refresh token", description: "The holder of a refresh token" },
            { name: "user", description: "A signed-in user with an access token" },
            { name: "public", description: "No credential" },
            { name: "operations", description: "Probes" },
          ],
          components: {
            securitySchemes: {
              serviceKey: { type: "http", scheme: "bearer", description: "Service key of an internal caller" },
              accessToken: {
                type: "http",
                scheme: "bearer",
                bearerFormat: "JWT",
                description: "User access token (at+jwt)",
              },
            },
          },
        },
      }),
    )
    .get(
      "/docs/assets/:file",
      ({ params }) => {
        const asset = Object.hasOwn(ASSETS, params.file) ? ASSETS[params.file] : undefined;
        if (!asset) throw new ServiceError("not_found", "No such file.");
        return new Response(asset.body(), {
          headers: { ...docsHeaders(asset.type), "cache-control": "public, max-age=3600" },
        });
      },
      { params: t.Object({ file: t.String() }), detail: { hide: true } },
    );
