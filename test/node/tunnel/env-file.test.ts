import { describe, expect, it } from "vitest";
import { EnvFileError, parseEnvFile } from "../../../tunnel/launcher/env-file.ts";

describe("parseEnvFile", () => {
  it("reads KEY=value lines and skips blank lines and comments", () => {
    const text = ["# a comment", "", "TUNNEL_TOKEN=eyJabc", "  TOOLKIT_PORT = 8012  ", "EMPTY="].join("\n");
    expect(parseEnvFile(text)).toEqual({ TUNNEL_TOKEN: "eyJabc", TOOLKIT_PORT: "8012", EMPTY: "" });
  });

  it("accepts export, quotes, CRLF line ends and a byte-order mark", () => {
    const text = '\uFEFFexport A=1\r\nB="two words # not a comment"\r\nC=\'lit\\eral\'\r\nD="line\\nbreak \\"q\\""\r\n';
    expect(parseEnvFile(text)).toEqual({
      A: "1",
      B: "two words # not a comment",
      C: "lit\\eral",
      D: 'line\nbreak "q"',
    });
  });

  it("drops an inline comment after an unquoted value, as docker compose does", () => {
    expect(parseEnvFile("TOOLKIT_HOST=192.168.0.152 # the GPU box")).toEqual({ TOOLKIT_HOST: "192.168.0.152" });
  });

  it("keeps = and # inside a value that has no space before the #", () => {
    expect(parseEnvFile("TUNNEL_TOKEN=eyJa=b#c==")).toEqual({ TUNNEL_TOKEN: "eyJa=b#c==" });
  });

  it("lets a later line win", () => {
    expect(parseEnvFile("A=1\nA=2")).toEqual({ A: "2" });
  });

  it("refuses a line that is not KEY=value, naming the line without echoing a secret", () => {
    const secret = "eyJhIjoiMTIzNDU2Nzg5MCIsInQiOiJzZWNyZXQifQ";
    let error: unknown;
    try {
      parseEnvFile(`A=1\n${secret}\n`, "tunnel/.env");
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(EnvFileError);
    const message = (error as Error).message;
    expect(message).toContain("tunnel/.env, line 2");
    expect(message).toContain("fix or delete that line");
    expect(message).not.toContain(secret);
  });

  it("refuses an unclosed quote and text after a closing quote", () => {
    expect(() => parseEnvFile('A="open')).toThrow(/never closed/);
    expect(() => parseEnvFile("A='x' y")).toThrow(/after the closing/);
  });

  it("refuses an invalid key", () => {
    expect(() => parseEnvFile("1A=x")).toThrow(/line 1 is not KEY=value/);
    expect(() => parseEnvFile("=x")).toThrow(/line 1 is not KEY=value/);
  });
});
