// Bindings that wrangler types cannot see because they are optional: TOOLKIT exists only
// once the [[vpc_services]] block in wrangler.toml is filled in (see tunnel/README.md).
interface Env {
  TOOLKIT?: Fetcher;
}
declare namespace Cloudflare {
  interface Env {
    TOOLKIT?: Fetcher;
  }
}
