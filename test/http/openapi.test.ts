/** The OpenAPI document cannot drift from the routes: every route, its schemas, errors, security and examples. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { ERROR_CODES } from "../../server/core/errors";
import { HTTP_STATUS } from "../../server/http/errors";
import { openTestApp } from "../support/core";

type Doc = {
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string; scheme: string }> };
};
type Operation = {
  security?: Array<Record<string, string[]>>;
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { examples?: unknown[]; content?: Record<string, { schema: Schema }> }>;
};
type Schema = {
  properties?: Record<string, Schema>;
  examples?: unknown[];
  anyOf?: Schema[];
  const?: string;
  $ref?: string;
};

let t: Awaited<ReturnType<typeof openTestApp>>;
let doc: Doc;
beforeAll(async () => {
  t = await openTestApp();
  doc = (await (await t.call("GET", "/docs/json")).json()) as Doc;
});
afterAll(() => t.close());

const openApiPath = (path: string) => path.replace(/:(\w+)/g, "{$1}");
const documentedRoutes = () =>
  t.app.routes
    .filter((route) => !route.path.startsWith("/docs"))
    .map((r) => ({ method: r.method.toLowerCase(), path: openApiPath(r.path) }));

/** The error codes a response schema allows. */
function codesOf(schema: Schema): string[] {
  const error = schema.properties!.error;
  return error.anyOf ? error.anyOf.map((s) => s.const!) : [error.const!];
}

test("every route is documented and nothing else is", () => {
  const routes = documentedRoutes();
  expect(routes.length).toBe(12);
  for (const { method, path } of routes) expect(doc.paths[path]?.[method]).toBeDefined();
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
  expect(documented.sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
});

test("two security schemes, used by the routes that need them", () => {
  expect(doc.components.securitySchemes.serviceKey).toMatchObject({ type: "http", scheme: "bearer" });
  expect(doc.components.securitySchemes.accessToken).toMatchObject({ type: "http", scheme: "bearer" });
  expect(doc.paths["/session"].post.security).toEqual([{ serviceKey: [] }]);
  expect(doc.paths["/session/validate"].post.security).toEqual([{ serviceKey: [] }]);
  for (const [path, method] of [
    ["/session/me", "get"],
    ["/session/all", "delete"],
    ["/session/{id}", "delete"],
    ["/session/{id}", "patch"],
  ]) {
    expect(doc.paths[path][method].security).toEqual([{ accessToken: [] }]);
  }
  expect(doc.paths["/session/refresh"].post.security).toBeUndefined();
});

test("POST endpoints document their JSON body with an example, and every success response has a schema", () => {
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      if (method === "post") {
        const schema = op.requestBody!.content["application/json"].schema;
        expect(Object.keys(schema.properties!).length).toBeGreaterThan(0);
      }
      const success = Object.keys(op.responses).filter((status) => status.startsWith("2"));
      expect(success.length).toBe(1);
      if (path !== "/metrics" && success[0] !== "204") expect(op.responses[success[0]].content).toBeDefined();
    }
  }
});

test("error responses name their codes, each under the status the error table gives it", () => {
  const expected: Record<string, string[]> = {
    "post /session": [
      "invalid_request",
      "payload_too_large",
      "unsupported_media_type",
      "unavailable",
      "invalid_client",
      "user_deleted",
      "rate_limited",
    ],
    "post /session/refresh": [
      "invalid_request",
      "payload_too_large",
      "unsupported_media_type",
      "unavailable",
      "invalid_grant",
      "invalid_dpop_proof",
      "use_dpop_nonce",
      "rate_limited",
    ],
    "post /session/validate": [
      "invalid_request",
      "payload_too_large",
      "unsupported_media_type",
      "unavailable",
      "invalid_client",
      "rate_limited",
    ],
    "post /session/revoke": ["invalid_request", "payload_too_large", "unsupported_media_type", "unavailable"],
    "get /session/me": ["invalid_token", "unavailable"],
    "delete /session/all": ["invalid_token", "unavailable"],
    "delete /session/{id}": ["invalid_token", "not_found", "unavailable"],
    "patch /session/{id}": [
      "invalid_request",
      "payload_too_large",
      "unsupported_media_type",
      "unavailable",
      "invalid_token",
      "not_found",
    ],
  };
  for (const [route, codes] of Object.entries(expected)) {
    const [method, path] = route.split(" ");
    const responses = doc.paths[path][method].responses;
    const documented: string[] = [];
    for (const [status, response] of Object.entries(responses)) {
      if (Number(status) < 400) continue;
      const schema = response.content!["application/json"].schema;
      // The swagger plugin lifts a response schema's examples onto the response object.
      expect(response.examples ?? schema.examples).toBeDefined();
      for (const code of codesOf(schema)) {
        expect(ERROR_CODES).toContain(code as never);
        expect(String(HTTP_STATUS[code as keyof typeof HTTP_STATUS])).toBe(status);
        documented.push(code);
      }
    }
    expect(documented.sort()).toEqual([...codes].sort());
  }
});

test("request and response schemas carry examples", () => {
  const create = doc.paths["/session"].post;
  const body = create.requestBody!.content["application/json"].schema;
  expect(body.properties!.user_id.examples).toBeDefined();
  const ok = create.responses["201"].content!["application/json"].schema;
  expect(ok.examples ?? ok.properties!.expires_in.examples).toBeDefined();
});

test("GET /session/me documents device: nullable, the contract's five fields, type one of four", () => {
  type Node = Schema & { required?: string[]; items?: Node; nullable?: boolean; properties?: Record<string, Node> };
  const ok = doc.paths["/session/me"].get.responses["200"].content!["application/json"].schema as Node;
  const session = ok.properties!.sessions!.items!;
  expect(session.required).toContain("device");
  const device = session.properties!.device!;
  expect(device.nullable).toBe(true);
  const object = device.anyOf!.find((s) => (s as Node).properties) as Node;
  expect(object.required!.sort()).toEqual(["browser", "browser_version", "os", "os_version", "type"]);
  expect(object.properties!.type!.anyOf!.map((s) => s.const).sort()).toEqual(["desktop", "mobile", "other", "tablet"]);
});

test("/docs is self-contained: its page and assets come from this service, under a policy naming no origin", async () => {
  const res = await t.call("GET", "/docs");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
  const csp = res.headers.get("content-security-policy")!;
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).not.toMatch(/https?:|\/\/|\*/);
  const html = await res.text();
  expect(html).not.toMatch(/https?:\/\/|\/\/[a-z]/i);
  const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  expect(assets.sort()).toEqual(
    [
      "docs/assets/favicon-32x32.png",
      "docs/assets/init.js",
      "docs/assets/swagger-ui-bundle.js",
      "docs/assets/swagger-ui.css",
    ].sort(),
  );
  for (const asset of assets) {
    const file = await t.call("GET", `/${asset}`);
    expect(file.status).toBe(200);
    expect((await file.arrayBuffer()).byteLength).toBeGreaterThan(100);
  }
  for (const path of ["/docs/assets/package.json", "/docs/assets/..%2Fpackage.json", "/docs/assets/index.html"]) {
    const res = await t.call("GET", path);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: string }).error).toBe("not_found");
  }
  expect((await t.call("GET", "/docs/json")).headers.get("content-security-policy")).toBe(csp);
});

test("the document carries no Elysia-only flag, and is served as JSON under the docs' CSP", async () => {
  const response = await t.call("GET", "/docs/json");
  expect(response.headers.get("content-type")).toContain("application/json");
  expect(response.headers.get("content-security-policy")).toContain("default-src");
  const text = await response.text();
  expect(text).not.toContain("noValidate");
  // The introspection answer is still documented as the union of its two shapes.
  const answer = (JSON.parse(text) as Doc).paths["/session/validate"]!.post!.responses["200"]!;
  expect(Object.values(answer.content!)[0]!.schema.anyOf).toHaveLength(2);
});
