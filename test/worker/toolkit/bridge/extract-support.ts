// Oracle for the download extractor: what JSON.parse says the answer holds.
import { expect } from "vitest";
import { extractBase64Field, type ExtractedEnvelope } from "../../../../src/toolkit/bridge/download-extract";
import { collect, expectSameBytes, referenceDecode, streamOf } from "./support";

export interface Extraction {
  bytes: Uint8Array;
  envelope: ExtractedEnvelope;
}

/** Runs the extractor over `chunks`, reading `data` and awaiting `envelope` together. */
export async function extract(chunks: readonly Uint8Array[], fieldPath?: string[]): Promise<Extraction> {
  const { data, envelope } = extractBase64Field(streamOf(chunks), fieldPath);
  const [bytes, env] = await Promise.all([collect(data), envelope]);
  return { bytes, envelope: env };
}

/** JSON.parse's view: the envelope without the field, and the field's decoded bytes. */
export function expected(json: string, fieldPath: readonly string[] = ["result", "data"]): Extraction {
  const envelope: unknown = JSON.parse(json);
  let parent: unknown = envelope;
  for (const key of fieldPath.slice(0, -1)) parent = isObject(parent) ? parent[key] : undefined;
  const last = fieldPath[fieldPath.length - 1] ?? "";
  let bytes: Uint8Array = new Uint8Array(0);
  const field = isObject(parent) ? parent[last] : undefined;
  if (isObject(parent) && typeof field === "string") {
    bytes = referenceDecode(field);
    delete parent[last];
  }
  if (!isObject(envelope)) throw new Error("test answers are JSON objects");
  return { bytes, envelope: envelope as ExtractedEnvelope };
}

export function expectExtraction(actual: Extraction, wanted: Extraction): void {
  expect(actual.envelope).toStrictEqual(wanted.envelope);
  expectSameBytes(actual.bytes, wanted.bytes);
}

/** Both `data` and `envelope` must reject, with the same error; returns it. */
export async function extractionError(chunks: readonly Uint8Array[], fieldPath?: string[]): Promise<Error> {
  const { data, envelope } = extractBase64Field(streamOf(chunks), fieldPath);
  const [dataResult, envelopeResult] = await Promise.allSettled([collect(data), envelope]);
  if (dataResult.status !== "rejected" || envelopeResult.status !== "rejected") {
    throw new Error(`expected both to reject, got data: ${dataResult.status}, envelope: ${envelopeResult.status}`);
  }
  expect(envelopeResult.reason).toBe(dataResult.reason);
  expect(dataResult.reason).toBeInstanceOf(Error);
  return dataResult.reason as Error;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
