// A deliberately small reader for tunnel/.env.
//
// The same file is read by three programs: this launcher, docker compose (`env_file`) and
// systemd (`EnvironmentFile=`). The format accepted here is their common subset: `KEY=value`
// lines, comments on their own lines, optional `export `, optional single or double quotes.
// Anything else is refused with its line number rather than guessed at: a silently mangled
// tunnel token fails much later, at Cloudflare, with a message that points nowhere near here.

import { readFileSync } from "node:fs";

export class EnvFileError extends Error {
  override name = "EnvFileError";
}

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses the text of an env file into its key/value pairs; later lines win over earlier ones. */
export function parseEnvFile(text: string, source = "the env file"): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const where = `${source}, line ${index + 1}`;
    const body = line.startsWith("export ") ? line.slice("export ".length).trimStart() : line;
    const eq = body.indexOf("=");
    const key = eq === -1 ? "" : body.slice(0, eq).trim();
    if (!KEY.test(key)) {
      // Only a short preview: the offending line may well be a pasted secret.
      throw new EnvFileError(
        `${where} is not KEY=value (it starts with ${JSON.stringify(line.slice(0, 8))}): ` +
          "fix or delete that line; comments start with #",
      );
    }
    values[key] = parseValue(body.slice(eq + 1).trim(), where);
  });
  return values;
}

function parseValue(value: string, where: string): string {
  const quote = value[0];
  if (quote === '"' || quote === "'") {
    const closing = quote === '"' ? findClosingDoubleQuote(value) : value.indexOf("'", 1);
    if (closing === -1) {
      throw new EnvFileError(`${where}: the value opens a ${quote} quote that is never closed: close it or remove it`);
    }
    const rest = value.slice(closing + 1).trim();
    if (rest !== "" && !rest.startsWith("#")) {
      throw new EnvFileError(`${where}: unexpected text after the closing ${quote} quote: remove it`);
    }
    const inner = value.slice(1, closing);
    return quote === '"' ? unescapeDoubleQuoted(inner) : inner;
  }
  // Unquoted: " #" starts a comment (docker compose reads it that way too). systemd would keep
  // it as part of the value, which is why .env.example puts comments on lines of their own.
  const comment = value.search(/\s#/);
  return (comment === -1 ? value : value.slice(0, comment)).trim();
}

function findClosingDoubleQuote(value: string): number {
  for (let i = 1; i < value.length; i++) {
    if (value[i] === "\\") i++;
    else if (value[i] === '"') return i;
  }
  return -1;
}

function unescapeDoubleQuoted(inner: string): string {
  return inner.replace(/\\(.)/g, (_, char: string) => (char === "n" ? "\n" : char === "t" ? "\t" : char));
}

/** Reads and parses an env file; `undefined` when the file does not exist. */
export function readEnvFile(path: string): Record<string, string> | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new EnvFileError(`cannot read ${path} (${(error as Error).message}): check its permissions`);
  }
  return parseEnvFile(text, path);
}
