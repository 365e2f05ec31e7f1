import { DurableObject } from "cloudflare:workers";

/**
 * Secrets the Worker makes for itself. The download-link key is 32 random bytes made on
 * first use and kept here, so links work with no set-up. It is deliberately NOT derived from
 * OWNER_PASSWORD: a link publishes an HMAC next to its inputs, and a key derived from a
 * password would let anyone holding one link test password guesses offline.
 * One instance, so every isolate gets the same key; a Durable Object, so two first uses at
 * once cannot make two keys.
 */
export class WorkerSecrets extends DurableObject {
  async downloadLinkSecret(): Promise<string> {
    let secret = await this.ctx.storage.get<string>("download-links");
    if (!secret) {
      secret = [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, "0")).join("");
      await this.ctx.storage.put("download-links", secret);
    }
    return secret;
  }
}

export function workerSecrets(env: Pick<Env, "WORKER_SECRETS">) {
  return env.WORKER_SECRETS.get(env.WORKER_SECRETS.idFromName("worker"));
}
