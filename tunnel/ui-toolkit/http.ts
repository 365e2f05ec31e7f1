// How the Next.js side of the UI answers, and a small router for its route handlers.
//
// Framing, as `next start` behind ai-toolkit's front server delivers it: a route handler's body
// is piped, so it goes out with `Transfer-Encoding: chunked` and no Content-Length (the front
// server strips hop-by-hop headers and Node re-frames the same way); a handler that answers with
// a null body (`new NextResponse(null, ...)`, or the 500 of an uncaught error) gets
// `Content-Length: 0`. A HEAD gets the GET's headers and no body; a method the route does not
// export gets an empty 405; an unknown path gets Next's 404 page.

import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";

export interface Answer {
  status: number;
  headers: Record<string, string>;
  /** null: no body at all (Content-Length: 0). */
  body: string | Buffer | null;
}

export const json = (value: unknown, status = 200): Answer => ({
  status,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(value),
});

/** `new NextResponse('text', {status})`: a string body is text/plain for the Fetch Response. */
export const text = (body: string, status = 200): Answer => ({
  status,
  headers: { "content-type": "text/plain;charset=UTF-8" },
  body,
});

export const empty = (status: number): Answer => ({ status, headers: {}, body: null });

export interface ApiRequest {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  raw: IncomingMessage;
  /** Dynamic segments, URL-decoded as Next.js hands them over. */
  params: Record<string, string>;
  /** `request.json()`: throws a SyntaxError on an empty or malformed body. */
  json(): Promise<unknown>;
}

export type Handler = (req: ApiRequest) => Promise<Answer>;

interface Route {
  path: string;
  pattern: RegExp;
  keys: string[];
  methods: Map<string, Handler>;
}

const NOT_FOUND_PAGE =
  '<!DOCTYPE html><html><head><meta charSet="utf-8"/><title>404: This page could not be found.</title></head>' +
  "<body><div><h1>404</h1><h2>This page could not be found.</h2></div></body></html>";

export class Router {
  private readonly routes: Route[] = [];

  /** `path` uses `[name]` for a dynamic segment, as the app router's folders do. */
  add(method: string, path: string, handler: Handler): this {
    const keys: string[] = [];
    const source = path.replace(/\[(\w+)\]/g, (_, key: string) => {
      keys.push(key);
      return "([^/]+)";
    });
    let route = this.routes.find((r) => r.path === path);
    if (!route) {
      route = { path, pattern: new RegExp(`^${source}$`), keys, methods: new Map() };
      this.routes.push(route);
    }
    route.methods.set(method, handler);
    return this;
  }

  async handle(req: IncomingMessage, url: URL): Promise<Answer> {
    for (const route of this.routes) {
      const match = route.pattern.exec(url.pathname);
      if (!match) continue;
      const params: Record<string, string> = {};
      try {
        route.keys.forEach((key, i) => {
          params[key] = decodeURIComponent(match[i + 1] ?? "");
        });
      } catch {
        return text("Bad Request", 400);
      }
      const method = req.method ?? "GET";
      const handler = route.methods.get(method === "HEAD" ? "GET" : method);
      if (method === "OPTIONS") {
        const allow = [...route.methods.keys(), ...(route.methods.has("GET") ? ["HEAD"] : []), "OPTIONS"];
        return { status: 204, headers: { allow: allow.join(", ") }, body: null };
      }
      if (!handler) return empty(405);
      let bodyRead: Promise<unknown> | undefined;
      const apiRequest: ApiRequest = {
        method,
        url,
        headers: req.headers,
        raw: req,
        params,
        json: () => (bodyRead ??= readBody(req).then((buf) => JSON.parse(buf.toString("utf8")) as unknown)),
      };
      try {
        return await handler(apiRequest);
      } catch {
        // An uncaught error in a route handler: Next answers a bare 500.
        return empty(500);
      }
    }
    return { status: 404, headers: { "content-type": "text/html; charset=utf-8" }, body: NOT_FOUND_PAGE };
  }
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Writes an answer with Next's framing (see the top of this file). */
export function send(res: ServerResponse, answer: Answer, method: string | undefined): void {
  if (answer.body === null || method === "HEAD") {
    res.statusCode = answer.status;
    for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
    res.end();
    return;
  }
  res.writeHead(answer.status, answer.headers);
  if (answer.body.length > 0) res.write(answer.body);
  res.end();
}
