// Entry point: `npm run tunnel` in tunnel/ (node launcher/main.ts). Node 22 runs this TypeScript
// directly by stripping its types, so the launcher sticks to erasable syntax and `.ts` imports.

import { runLauncher } from "./run.ts";

const code = await runLauncher();
// Explicit exit: a still-pending toolkit probe must not hold the process open after a stop.
process.exit(code);
