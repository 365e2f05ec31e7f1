import { build } from "esbuild";
import type { Page } from "playwright-core";

/**
 * A minimal MCP Apps host for the dashboard: the SDK's own host side (AppBridge, bundled for the
 * browser) talking to the page in a sandboxed srcdoc frame under the spec's default App policy
 * (nothing but inline script and style and data: images), answering the page's tools/call
 * requests from a table the test can change at any moment, and recording every call.
 */

/** The restrictive policy hosts apply to an App that declares no domains. */
const APP_CSP =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'none'";

export interface RecordedCall {
  name: string;
  arguments: Record<string, unknown>;
  at: number;
}

export interface CannedResult {
  content?: { type: string; text?: string; data?: string; mimeType?: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

let bundled: Promise<string> | undefined;

/** The AppBridge and its postMessage transport as one browser script defining `ExtApps`. */
export function appBridgeBundle(): Promise<string> {
  bundled ??= build({
    stdin: {
      contents: 'export { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";',
      resolveDir: process.cwd(),
    },
    bundle: true,
    format: "iife",
    globalName: "ExtApps",
    platform: "browser",
    minify: true,
    write: false,
  }).then((result) => result.outputFiles[0]?.text ?? "");
  return bundled;
}

const hostScript = String.raw`
window.host = {
  calls: [],
  answers: {},
  sizes: [],
  start: async function (appHtml, csp, theme, toolInput, toolResult) {
    document.documentElement.dataset.theme = theme;
    var frame = document.createElement("iframe");
    frame.setAttribute("sandbox", "allow-scripts");
    document.getElementById("slot").appendChild(frame);
    var bridge = new ExtApps.AppBridge(null, { name: "dashboard-test-host", version: "1.0.0" }, 
      { serverTools: {}, logging: {} }, {
      hostContext: { theme: theme, platform: "web", displayMode: "inline" },
    });
    bridge.oncalltool = async function (params) {
      host.calls.push({ name: params.name, arguments: params.arguments || {}, at: Date.now() });
      var answer = host.answers[params.name];
      if (!answer) throw new Error("Tool " + params.name + " not found");
      return typeof answer === "function" ? answer(params.arguments || {}) : answer;
    };
    bridge.onsizechange = function (size) {
      host.sizes.push(size);
      if (size.height) frame.style.height = size.height + "px";
    };
    bridge.oninitialized = function () {
      bridge.sendToolInput({ arguments: toolInput });
      bridge.sendToolResult(toolResult);
    };
    host.bridge = bridge;
    await bridge.connect(new ExtApps.PostMessageTransport(frame.contentWindow, frame.contentWindow));
    frame.srcdoc = appHtml.replace("<head>", '<head><meta http-equiv="Content-Security-Policy" content="' + csp + '">');
  },
  setTheme: function (theme) {
    document.documentElement.dataset.theme = theme;
    host.bridge.setHostContext({ theme: theme, platform: "web", displayMode: "inline" });
  },
  /** Stand-ins for generated samples: soft gradients with a shape, as JPEG data URIs. */
  sample: function (hue, shape) {
    var canvas = document.createElement("canvas");
    canvas.width = canvas.height = 256;
    var g = canvas.getContext("2d");
    var fill = g.createLinearGradient(0, 0, 256, 256);
    fill.addColorStop(0, "hsl(" + hue + ", 70%, 72%)");
    fill.addColorStop(1, "hsl(" + (hue + 60) + ", 60%, 38%)");
    g.fillStyle = fill;
    g.fillRect(0, 0, 256, 256);
    g.fillStyle = "hsla(" + (hue + 180) + ", 80%, 92%, 0.85)";
    g.beginPath();
    if (shape === 0) g.arc(128, 120, 62, 0, Math.PI * 2);
    else if (shape === 1) { g.moveTo(128, 50); g.lineTo(210, 200); g.lineTo(46, 200); }
    else g.rect(70, 70, 116, 116);
    g.fill();
    return canvas.toDataURL("image/jpeg", 0.85);
  },
};
`;

const hostHtml = `<!doctype html>
<html><head><meta charset="utf-8"><style>
  html { background: #f3f1ec; } html[data-theme="dark"] { background: #262624; }
  body { margin: 0; padding: 24px; }
  iframe { display: block; width: 760px; height: 300px; border: 1px solid rgba(128,128,128,.25); 
   border-radius: 14px; background: transparent; }
</style></head><body><div id="slot"></div><script>${hostScript}</script></body></html>`;

/** Opens the host in the page and starts the App with the given tool input and result. */
export async function startHost(
  page: Page,
  appHtml: string,
  theme: "light" | "dark",
  toolInput: Record<string, unknown>,
  toolResult: CannedResult,
  answers: string,
): Promise<void> {
  await page.setContent(hostHtml);
  await page.addScriptTag({ content: await appBridgeBundle() });
  // Answers are built in the page (the samples are drawn there), from a function's source.
  await page.evaluate(`host.answers = (${answers})();`);
  await page.evaluate(
    ([html, csp, mode, input, result]) => (window as unknown as HostWindow).host.start(html, csp, mode, input, result),
    [appHtml, APP_CSP, theme, toolInput, toolResult] as const,
  );
}

/** What the host script puts on window, as the test sees it. */
export interface HostWindow {
  host: {
    calls: RecordedCall[];
    answers: Record<string, CannedResult | ((args: Record<string, unknown>) => CannedResult)>;
    sizes: { width?: number; height?: number }[];
    start(
      html: string,
      csp: string,
      theme: string,
      input: Record<string, unknown>,
      result: CannedResult,
    ): Promise<void>;
    setTheme(theme: "light" | "dark"): void;
    sample(hue: number, shape: number): string;
  };
}
