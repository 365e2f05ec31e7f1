import { ConfigError, type Config } from "../config";
import { bridgeUpstream } from "./bridge/upstream";
import type { ToolkitBinding } from "./transport";
import type { Upstream } from "./upstream";

/** The upstream AI_TOOLKIT_API names, over the transport the settings select. */
export function upstreamFor(config: Config, env: { TOOLKIT?: ToolkitBinding }): Upstream {
  if (config.AI_TOOLKIT_API === "ui") throw new ConfigError("AI_TOOLKIT_API=ui is not available in this build");
  return bridgeUpstream(config, env);
}
