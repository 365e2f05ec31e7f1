/**
 * GET/HEAD /samples/<job id>/<file name>?expires=<unix s>&sig=<hex>: streams one sample image of
 * a training job from the toolkit to whoever holds a valid signed link (get_training_samples
 * hands them out). The link is the credential, so it is checked before the toolkit is asked
 * anything, and the answer is served as the one harmless type its name promises.
 */

import { Hono } from "hono";
import { capitalize } from "../common";
import { readConfig } from "../config";
import { jobId as jobIdSchema } from "../mcp/fields";
import { ToolkitError } from "../toolkit/errors";
import { upstreamFor } from "../toolkit/select";
import type { Upstream } from "../toolkit/upstream";
import { linkProblem as problem, linkTerms } from "../models/links";
import { SAMPLE_ROUTE, sampleContentType, sampleLinkValid } from "./links";

export const sampleRoutes = new Hono<{ Bindings: Env }>();

const AGAIN = "call get_training_samples again for a fresh link";

/** Hono sends HEAD requests to GET handlers; serveSample answers HEAD without a body. */
sampleRoutes.get(`${SAMPLE_ROUTE}*`, (c) => serveSample(c.req.raw, c.env, () => upstreamFor(readConfig(c.env), c.env)));

/** The route's work, with the upstream given (tests script it). */
export async function serveSample(request: Request, env: Env, upstream: () => Upstream): Promise<Response> {
  const url = new URL(request.url);
  const sample = sampleOf(url.pathname);
  const now = Date.now();
  const terms = linkTerms(url, "sample", AGAIN, now);
  if (!sample) return problem(403, `This sample link is incomplete or was altered: ${AGAIN}.`);
  if ("refused" in terms) return terms.refused;
  const { expires, sig } = terms;
  const config = readConfig(env);
  if (!(await sampleLinkValid(config, env, sample, expires, sig))) {
    return problem(403, `This sample link's signature is not valid (altered, or the signing key changed): ${AGAIN}.`);
  }

  let image: Response;
  try {
    image = await upstream().sampleImage(sample.jobId, sample.file);
  } catch (error) {
    if (!(error instanceof ToolkitError)) throw error;
    // "tool": the toolkit no longer lists that sample (deleted job, pruned samples).
    const status = error.kind === "tool" ? 404 : error.kind === "timeout" ? 504 : 502;
    return problem(status, `${capitalize(error.message)}.`);
  }
  const headers = new Headers({
    // The type the link's name promises, never the toolkit's: nothing served here can be a page.
    "Content-Type": sample.contentType,
    "Content-Disposition": inline(sample.file),
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    // Cached by the browser at most until the link expires, never by shared caches.
    "Cache-Control": `private, max-age=${Math.max(0, expires - Math.ceil(now / 1000))}`,
  });
  const length = image.headers.get("content-length");
  if (length !== null && /^\d+$/.test(length)) headers.set("Content-Length", length);
  if (request.method === "HEAD") {
    await image.body?.cancel().catch(() => {});
    return new Response(null, { status: 200, headers });
  }
  return new Response(image.body, { status: 200, headers });
}

/** The job id and file name from the path (each segment decoded), when both are ones a link may carry. */
function sampleOf(pathname: string): { jobId: string; file: string; contentType: string } | undefined {
  const segments = pathname.slice(SAMPLE_ROUTE.length).split("/");
  if (segments.length !== 2) return undefined;
  let jobId: string;
  let file: string;
  try {
    [jobId, file] = segments.map(decodeURIComponent) as [string, string];
  } catch {
    return undefined;
  }
  const contentType = sampleContentType(file);
  if (!jobIdSchema.safeParse(jobId).success || !contentType) return undefined;
  return { jobId, file, contentType };
}

/** Shown in the browser under its own name; the name is [A-Za-z0-9._-] (sampleContentType), so it needs no escaping. */
function inline(file: string): string {
  return `inline; filename="${file}"`;
}
