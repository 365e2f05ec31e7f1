import { describe, expect, it } from "vitest";
import { ToolkitError } from "../../../src/toolkit/errors";
import { failureOf, JOB_ID, jobRow, json, ScriptedUi } from "./ui-scripted";
import { FOLDERS, REQUEST, upstreamOn, uiWithFolders } from "./ui-upstream-helpers";

const OTHER_ID = "7a1c2a9e-5b7d-4e2a-9c1f-0a1b2c3d4e5f";

/** The job_config the upstream sent with POST /api/jobs, and the rest of the body. */
async function savedBody(ui: ScriptedUi): Promise<Record<string, unknown>> {
  const [post] = ui.callsTo("POST /api/jobs");
  expect(post).toBeDefined();
  return (await post!.json()) as Record<string, unknown>;
}

/** The "invalid" ToolkitError a request the UI cannot take is refused with, before anything is sent. */
async function userErrorOf(promise: Promise<unknown>): Promise<ToolkitError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ToolkitError);
  expect((error as ToolkitError).kind).toBe("invalid");
  return error as ToolkitError;
}

describe("createConfig", () => {
  it("creates a job from the family's preset, placed in the UI's folders", async () => {
    const ui = uiWithFolders()
      .on("GET /api/jobs", json({ jobs: [jobRow({ id: OTHER_ID, name: "other" })] }))
      .on("POST /api/jobs", async (request) => {
        const body = (await request.json()) as { name: string };
        return Response.json(jobRow({ name: body.name }));
      });
    const saved = await upstreamOn(ui).createConfig({
      ...REQUEST,
      trigger_word: "ohwx",
      test_prompts: ["a [trigger]"],
    });
    expect(saved).toEqual({
      status: "success",
      config: "my_lora",
      path: "/home/me/ai-toolkit/output/my_lora",
      job_id: JOB_ID,
      family: "flux",
      replaced: false,
    });
    const body = await savedBody(ui);
    expect(body).not.toHaveProperty("id");
    expect(body).toMatchObject({ name: "my_lora", gpu_ids: "0" });
    const process = (body.job_config as { config: { name: string; process: Record<string, unknown>[] } }).config;
    expect(process.name).toBe("my_lora");
    expect(process.process[0]).toMatchObject({
      training_folder: FOLDERS.TRAINING_FOLDER,
      trigger_word: "ohwx",
      datasets: [{ folder_path: "/home/me/ai-toolkit/datasets/my_set" }],
      train: { steps: 2000, noise_scheduler: "flowmatch" },
      model: { name_or_path: "black-forest-labs/FLUX.1-dev", arch: "flux" },
    });
    // The settings answer is read for its folders only: the HF token goes nowhere.
    expect(JSON.stringify(body)).not.toContain(FOLDERS.HF_TOKEN);
    expect(JSON.stringify(saved)).not.toContain(FOLDERS.HF_TOKEN);
  });

  it("takes the family from arch when the model name reads as none", async () => {
    const ui = uiWithFolders()
      .on("GET /api/jobs", json({ jobs: [] }))
      .on("POST /api/jobs", json(jobRow()));
    const saved = await upstreamOn(ui).createConfig({ ...REQUEST, model_name: "/models/my-merge", arch: "sdxl" });
    expect(saved.family).toBe("sdxl");
    const body = await savedBody(ui);
    expect(JSON.stringify(body.job_config)).toContain('"arch":"sdxl"');
  });

  it("refuses a model it cannot place in a family, and an unknown arch, as invalid input before any call", async () => {
    const ui = uiWithFolders().on("GET /api/jobs", json({ jobs: [] }));
    const unknown = await userErrorOf(upstreamOn(ui).createConfig({ ...REQUEST, model_name: "someone/mystery" }));
    expect(unknown.message).toMatch(/model_name "someone\/mystery" is not a model family .*pass arch, one of flux/);
    expect(unknown.kind).toBe("invalid");
    const badArch = await userErrorOf(upstreamOn(ui).createConfig({ ...REQUEST, arch: "flux9" }));
    expect(badArch.message).toMatch(/arch "flux9" is not a model family .*pass one of/);
    const badName = await userErrorOf(upstreamOn(ui).createConfig({ ...REQUEST, name: "../escape" }));
    expect(badName.message).toMatch(/cannot name a job/);
    expect(ui.calls).toHaveLength(0);
  });

  it.each([
    ["/home/me/ai-toolkit/datasets-old/my_set", /not below that folder/],
    ["/home/me/ai-toolkit/datasets", /not below that folder/],
    ["/home/me/ai-toolkit/datasets/../output", /'\.\.' segments/],
    ["datasets/my_set", /not an absolute path/],
    ["/etc/passwd", /not below that folder/],
  ])("refuses dataset_path %s outside the UI's DATASETS_FOLDER, naming both", async (datasetPath, why) => {
    const ui = uiWithFolders().on("GET /api/jobs", json({ jobs: [] }));
    const error = await userErrorOf(upstreamOn(ui).createConfig({ ...REQUEST, dataset_path: datasetPath }));
    expect(error.message).toContain(`dataset_path ${JSON.stringify(datasetPath)}`);
    expect(error.message).toContain(`DATASETS_FOLDER (${FOLDERS.DATASETS_FOLDER})`);
    expect(error.message).toMatch(why);
    expect(ui.callsTo("POST /api/jobs")).toHaveLength(0);
  });

  it("refuses a dataset the UI does not have, listing the ones it has", async () => {
    const ui = uiWithFolders(["faces", "cats"]).on("GET /api/jobs", json({ jobs: [] }));
    const error = await userErrorOf(upstreamOn(ui).createConfig(REQUEST));
    expect(error.message).toMatch(
      /names the dataset "my_set", which the UI does not have .*it has faces, cats.*upload it first/,
    );
  });

  it("places a dataset given by its name in the UI's DATASETS_FOLDER, and refuses a name it does not list", async () => {
    const ui = new ScriptedUi()
      .on("GET /api/settings", json({ TRAINING_FOLDER: "C:\\aitk\\output", DATASETS_FOLDER: "C:\\aitk\\datasets" }))
      .on("GET /api/datasets/list", json(["my_set"]))
      .on("GET /api/jobs", json({ jobs: [] }))
      .on("POST /api/jobs", json(jobRow()));
    await upstreamOn(ui).createConfig({ ...REQUEST, dataset_path: "my_set" });
    expect(JSON.stringify((await savedBody(ui)).job_config)).toContain(
      '"folder_path":"C:\\\\aitk\\\\datasets\\\\my_set"',
    );
    const missing = await userErrorOf(upstreamOn(ui).createConfig({ ...REQUEST, dataset_path: "other" }));
    expect(missing.message).toMatch(/names the dataset "other", which the UI does not have/);
  });

  it("accepts a dataset below a Windows DATASETS_FOLDER, written either way", async () => {
    const ui = new ScriptedUi()
      .on("GET /api/settings", json({ TRAINING_FOLDER: "C:\\aitk\\output", DATASETS_FOLDER: "C:\\aitk\\datasets" }))
      .on("GET /api/datasets/list", json(["my_set"]))
      .on("GET /api/jobs", json({ jobs: [] }))
      .on("POST /api/jobs", json(jobRow()));
    const saved = await upstreamOn(ui).createConfig({ ...REQUEST, dataset_path: "c:/aitk/datasets/my_set/" });
    expect(saved.path).toBe("C:\\aitk\\output\\my_lora");
    expect(JSON.stringify((await savedBody(ui)).job_config)).toContain(
      '"folder_path":"C:\\\\aitk\\\\datasets\\\\my_set"',
    );
  });

  it("updates a stopped job of that name by its id, and says it replaced it", async () => {
    const ui = uiWithFolders()
      .on("GET /api/jobs", json({ jobs: [jobRow({ status: "completed" })] }))
      .on("POST /api/jobs", json(jobRow()));
    const saved = await upstreamOn(ui).createConfig(REQUEST);
    expect(saved).toMatchObject({ replaced: true, job_id: JOB_ID });
    expect(await savedBody(ui)).toMatchObject({ id: JOB_ID, name: "my_lora" });
  });

  it.each(["running", "queued", "stopping"] as const)(
    "refuses to replace the config of a %s job: stop it first",
    async (status) => {
      const ui = uiWithFolders().on("GET /api/jobs", json({ jobs: [jobRow({ status })] }));
      const error = await failureOf(upstreamOn(ui).createConfig(REQUEST));
      expect(error.kind).toBe("tool");
      expect(error.message).toMatch(
        new RegExp(`status ${status}.*Stop it first \\(stop_training with job_id ${JOB_ID}\\)`),
      );
      expect(ui.callsTo("POST /api/jobs")).toHaveLength(0);
    },
  );

  it("refuses a name a non-training job already has", async () => {
    const ui = uiWithFolders().on("GET /api/jobs", json({ jobs: [jobRow({ job_type: "caption" })] }));
    const error = await userErrorOf(upstreamOn(ui).createConfig(REQUEST));
    expect(error.message).toMatch(/not a training job \(a caption job\): choose another name/);
  });

  it("passes on the UI's refusal of a name taken in between", async () => {
    const ui = uiWithFolders()
      .on("GET /api/jobs", json({ jobs: [] }))
      .on("POST /api/jobs", json({ error: "Job name already exists" }, 409));
    const error = await failureOf(upstreamOn(ui).createConfig(REQUEST));
    expect(error).toMatchObject({ kind: "tool", status: 409 });
    expect(error.message).toMatch(/already has a job named my_lora/);
  });
});

describe("listConfigs and getConfig", () => {
  const jobs = [
    jobRow({ name: "my_lora" }),
    jobRow({ id: OTHER_ID, name: "captions", job_type: "caption" }),
    jobRow({ id: "8a1c2a9e-5b7d-4e2a-9c1f-0a1b2c3d4e5f", name: "old_lora", job_type: undefined }),
  ];

  it("lists the names of the training jobs only", async () => {
    const ui = new ScriptedUi().on("GET /api/jobs", json({ jobs }));
    await expect(upstreamOn(ui).listConfigs()).resolves.toEqual(["my_lora", "old_lora"]);
  });

  it("gives a job's whole config as an object", async () => {
    const ui = new ScriptedUi().on("GET /api/jobs", json({ jobs }));
    await expect(upstreamOn(ui).getConfig("my_lora")).resolves.toEqual(JSON.parse(jobs[0]!.job_config));
  });

  it("says a configuration is not found, and how to see the names", async () => {
    const ui = new ScriptedUi().on("GET /api/jobs", json({ jobs }));
    for (const name of ["nope", "captions"]) {
      const error = await failureOf(upstreamOn(ui).getConfig(name));
      expect(error.kind).toBe("tool");
      expect(error.message).toMatch(/^Configuration not found: .*list_configs shows the names/);
    }
  });

  it("reports a job_config that is not JSON as a protocol failure", async () => {
    const ui = new ScriptedUi().on("GET /api/jobs", json({ jobs: [jobRow({ job_config: "{oops" })] }));
    const error = await failureOf(upstreamOn(ui).getConfig("my_lora"));
    expect(error.kind).toBe("protocol");
    expect(error.message).toMatch(/not JSON/);
  });
});
