import type { ConsentDescription } from "@cloudflare/workers-oauth-provider";
import { escapeHtml } from "../common";

/**
 * The owner's sign-in and consent page: one plain HTML page, one form, one password field,
 * Approve and Deny. Everything that came from the client (its name, redirect URI, scopes)
 * is attacker-chosen through dynamic registration, so it is escaped before it is shown.
 */

const STYLE = `
body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.4rem}.box{border:1px solid #ccc;border-radius:8px;padding:1rem 1.25rem;margin:1rem 0}
.warn{background:#fff6e0;border-color:#e6b400}.error{background:#fde8e8;border-color:#d33;color:#8a1111}
label{display:block;margin:.75rem 0 .25rem}input[type=password]{width:100%;padding:.5rem;font-size:1rem;
  box-sizing:border-box}
.buttons{display:flex;gap:.75rem;margin-top:1rem}button{padding:.55rem 1.2rem;font-size:1rem;border-radius:6px;
  border:1px solid #888;cursor:pointer}
button.approve{background:#1a5fd0;color:#fff;border-color:#1a5fd0}code{background:#f2f2f2;padding:0 .25rem;
  border-radius:3px}`;

function layout(title: string, body: string): string {
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" ` +
    `content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`
  );
}

export interface ConsentPageOptions {
  details: ConsentDescription;
  handle: string;
  error?: string;
}

export function consentPage({ details, handle, error }: ConsentPageOptions): string {
  const name = escapeHtml(details.clientName);
  const origin = details.clientDomain
    ? `Published by <strong>${escapeHtml(details.clientDomain)}</strong>.`
    : "This app registered itself; its name is not verified.";
  const scopes = details.scope.length
    ? details.scope.map((s) => `<code>${escapeHtml(s)}</code>`).join(" ")
    : "<code>toolkit</code>";
  const loopback = details.redirectIsLoopback
    ? `<div class="box warn"><strong>This sends access to an app on your computer.</strong> ` +
      `Continue only if you just started connecting from it.</div>`
    : "";
  const errorBox = error ? `<div class="box error" role="alert">${escapeHtml(error)}</div>` : "";
  return layout(
    `Authorize ${details.clientName}`,
    `<h1>Allow <strong>${name}</strong> to drive your AI Toolkit?</h1>
<div class="box"><p>${origin}</p>
<p>Access will be sent to <strong>${escapeHtml(details.redirectHost)}</strong>.</p>
<p>Scopes: ${scopes}: every AI Toolkit tool, including starting and stopping training and reading models.</p></div>
${loopback}${errorBox}
<form method="post">
<input type="hidden" name="handle" value="${escapeHtml(handle)}">
<label for="password">Owner password</label>
<input id="password" name="password" type="password" autocomplete="current-password" autofocus>
<div class="buttons"><button class="approve" name="decision" value="approve">Approve</button>
<button name="decision" value="deny">Deny</button></div>
</form>`,
  );
}

export function messagePage(title: string, message: string): string {
  return layout(title, `<h1>${escapeHtml(title)}</h1><div class="box">${message}</div>`);
}

export const NO_PASSWORD_MESSAGE =
  `No owner password is set, so nobody can sign in yet.
<p>Locally: put <code>OWNER_PASSWORD=&lt;a long random password&gt;</code> in <code>.dev.vars</code> ` +
  `(<code>npm run dev</code> writes one for you) and restart.</p>
<p>Deployed: run <code>npx wrangler secret put OWNER_PASSWORD</code> and paste a long random password.</p>`;
