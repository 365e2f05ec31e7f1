// The cloudflared command line.

/**
 * `tunnel run` with the token-based (remotely managed) tunnel.
 * --no-autoupdate: the binary belongs to whoever installed it (the npm package, a package
 * manager, a Docker image); cloudflared replacing itself and restarting would also happen
 * behind the supervisor's back.
 */
export const CLOUDFLARED_ARGS: readonly string[] = ["tunnel", "--no-autoupdate", "run"];

export interface Invocation {
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
}

/**
 * The token goes in the child's TUNNEL_TOKEN (cloudflared reads it from there) and never in
 * argv: any local user can read a process's arguments with `ps`, but not its environment.
 */
export function cloudflaredInvocation(token: string, baseEnv: NodeJS.ProcessEnv): Invocation {
  return { args: [...CLOUDFLARED_ARGS], env: { ...baseEnv, TUNNEL_TOKEN: token } };
}
