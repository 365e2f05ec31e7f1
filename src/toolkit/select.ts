import type { Config } from "../config";
import { bridgeUpstream } from "./bridge/upstream";
import type { ToolkitBinding } from "./transport";
import { uiUpstream } from "./ui/upstream";
import type { Upstream } from "./upstream";

/** The upstream AI_TOOLKIT_API names, over the transport the settings select. */
export function upstreamFor(config: Config, env: { TOOLKIT?: ToolkitBinding }): Upstream {
  return config.AI_TOOLKIT_API === "ui" ? uiUpstream(config, env) : bridgeUpstream(config, env);
}
