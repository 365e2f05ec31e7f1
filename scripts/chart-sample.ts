// `npm run chart:sample`: draws the loss chart of a made-up 2,000-step run with two loss terms,
// the way get_training_metrics draws a real one, into docs/images/loss-chart.png (the README's picture).

import { writeFileSync } from "node:fs";
import { renderLossChart } from "../src/charts/loss-chart";

/** Deterministic noise, so the picture only changes when the renderer does. */
function noise(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31 - 0.5;
  };
}

const random = noise(7);
const steps = Array.from({ length: 1_400 }, (_, i) => i + 1);
const loss = steps.map((step) => ({ step, value: 0.09 + 0.35 * Math.exp(-step / 350) + random() * 0.08 }));
const prior = steps.map((step) => ({ step, value: 0.04 + 0.12 * Math.exp(-step / 500) + random() * 0.03 }));
const png = renderLossChart({
  series: [
    { name: "loss", points: loss },
    { name: "prior_loss", points: prior },
  ],
  currentStep: 1_400,
  totalSteps: 2_000,
  title: "my_lora - loss",
});
writeFileSync(new URL("../docs/images/loss-chart.png", import.meta.url), png);
console.log(`docs/images/loss-chart.png: ${png.byteLength} bytes`);
