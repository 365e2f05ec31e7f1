import { describe, expect, it } from "vitest";
import type { OutgoingImage } from "../../../src/toolkit/upstream";
import { UiClient } from "../../../src/toolkit/ui/client";
import { uiBatchBytes, uiBatchOverhead, uiListDatasets, uiSendBatch } from "../../../src/toolkit/ui/transfers";
import { failureOf, json, ScriptedUi, stallingBody } from "./ui-scripted";

const SETTINGS = {
  TRAINING_FOLDER: "/ai-toolkit/output",
  DATASETS_FOLDER: "/ai-toolkit/datasets/",
  HF_TOKEN: "hf_secret",
};

const client = (ui: ScriptedUi, timeoutMs = 2000) => new UiClient(ui, { token: "t", timeoutMs, gpuIds: "0" });

function bytes(size: number, seed = 3): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 29 + seed * 13 + (i >> 5)) & 0xff);
}

function image(filename: string, data: Uint8Array, caption: string): OutgoingImage & { data: Uint8Array } {
  return {
    filename,
    caption,
    size: data.byteLength,
    data,
    open: async () => new Response(data.slice()).body!,
  };
}

async function sha(data: ArrayBuffer | Uint8Array): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return Array.from(hash, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The UI's create route: the name cleaned to lower snake case. */
const create = async (request: Request) => {
  const { name } = (await request.json()) as { name: string };
  return Response.json({ success: true, name: name.toLowerCase().replace(/[^a-z0-9]+/g, "_") });
};

/** The UI's upload route: parses the whole form, answers the cleaned names; records what arrived. */
function uploadRoute(seen: { length: number; header: string | null; form?: FormData }, drop: string[] = []) {
  return async (request: Request) => {
    const raw = await request.arrayBuffer();
    seen.length = raw.byteLength;
    seen.header = request.headers.get("content-length");
    const form = await new Request("http://ui.test/", {
      method: "POST",
      body: raw,
      headers: { "content-type": request.headers.get("content-type") ?? "" },
    }).formData();
    seen.form = form;
    const files = (form.getAll("files") as File[])
      .map((file) => file.name.replace(/[^a-zA-Z0-9.-]/g, "_"))
      .filter((name) => !drop.includes(name));
    return Response.json({ message: "Files uploaded successfully", files });
  };
}

function uiWithRoutes(seen: { length: number; header: string | null; form?: FormData }, drop: string[] = []) {
  return new ScriptedUi()
    .on("GET /api/settings", json(SETTINGS))
    .on("GET /api/datasets/list", json(["other"]))
    .on("POST /api/datasets/create", create)
    .on("POST /api/datasets/upload", uploadRoute(seen, drop));
}

describe("uiSendBatch", () => {
  it("sends exactly the bytes uiBatchOverhead and uiBatchBytes promise, raw, with captions as <stem>.txt", async () => {
    const images = [
      image("cat_01.png", bytes(70_001), "a photo of sks cat"),
      image("cat-02.jpeg", bytes(1), "ünïcödé caption \r\n--with a dash line"),
      image("noext", bytes(4096, 9), ""),
      image("cat.03.webp", bytes(0), "empty image"),
    ];
    const seen = { length: 0, header: null as string | null } as {
      length: number;
      header: string | null;
      form?: FormData;
    };
    const ui = uiWithRoutes(seen);
    const sent = await uiSendBatch(client(ui), "my_set", images, {});

    const promised = uiBatchOverhead("my_set") + images.reduce((total, item) => total + uiBatchBytes(item), 0);
    expect(seen.length).toBe(promised);
    expect(seen.header).toBe(String(promised));
    expect(sent).toEqual({ saved: 4, path: "/ai-toolkit/datasets/my_set" });

    const files = seen.form!.getAll("files") as File[];
    expect(seen.form!.get("datasetName")).toBe("my_set");
    expect(files.map((file) => file.name)).toEqual([
      "cat_01.png",
      "cat_01.txt",
      "cat-02.jpeg",
      "cat-02.txt",
      "noext",
      "noext.txt",
      "cat.03.webp",
      "cat.03.txt",
    ]);
    for (const [k, item] of images.entries()) {
      expect(await sha(await files[2 * k]!.arrayBuffer())).toBe(await sha(item.data));
      expect(await files[2 * k + 1]!.text()).toBe(item.caption);
    }
    // The folder is created first, once, under the exact name.
    expect(ui.callsTo("POST /api/datasets/create")).toHaveLength(1);
    expect(await ui.callsTo("POST /api/datasets/create")[0]!.json()).toEqual({ name: "my_set" });
  });

  it("does not create a dataset that exists", async () => {
    const ui = uiWithRoutes({ length: 0, header: null }).on("GET /api/datasets/list", json(["my_set"]));
    await uiSendBatch(client(ui), "my_set", [image("a.png", bytes(5), "c")], {});
    expect(ui.callsTo("POST /api/datasets/create")).toHaveLength(0);
    expect(ui.callsTo("POST /api/datasets/upload")).toHaveLength(1);
  });

  it("counts bytes per image independently of the dataset name and of the other images", () => {
    const one = { filename: "a.png", size: 10, caption: "x" };
    const two = { filename: "bb.png", size: 1000, caption: "ÿ caption" };
    expect(uiBatchBytes(two) - uiBatchBytes(one)).toBe(990 + 1 + 1 + 9); // size, both file names one longer, "ÿ caption" is 10 UTF-8 bytes
    expect(uiBatchOverhead("longer_name") - uiBatchOverhead("n")).toBe(10);
  });

  it.each([
    ["My Set", "my_set"],
    ["set!", "set_"],
    ["a__b", "a_b"],
  ])("refuses the dataset name %j the UI would create as %j, sending no file", async (name, cleaned) => {
    const seen = { length: 0, header: null };
    const ui = uiWithRoutes(seen);
    const error = await failureOf(uiSendBatch(client(ui), name, [image("a.png", bytes(5), "c")], {}));
    expect(error.kind).toBe("tool");
    expect(error.message).toContain(`refusing the dataset name ${JSON.stringify(name)}`);
    expect(error.message).toContain(`use ${JSON.stringify(cleaned)}`);
    expect(ui.callsTo("POST /api/datasets/upload")).toHaveLength(0);
    expect(ui.callsTo("POST /api/datasets/create")).toHaveLength(0);
  });

  it("sends into an existing hand-made folder whose name the UI would not create, without creating it", async () => {
    const seen = { length: 0, header: null };
    const ui = uiWithRoutes(seen).on("GET /api/datasets/list", json(["My Set"]));
    const sent = await uiSendBatch(client(ui), "My Set", [image("a.png", bytes(5), "c")], {});
    expect(sent).toEqual({ saved: 1, path: "/ai-toolkit/datasets/My Set" });
    expect(ui.callsTo("POST /api/datasets/create")).toHaveLength(0);
  });

  it.each([
    ["cat 1.png", /would store the file "cat 1.png" as "cat_1.png"/],
    ["café.png", /as "caf_.png"/],
    [".hidden.png", /hidden/],
  ])("refuses the file name %j before sending anything", async (name, message) => {
    const ui = uiWithRoutes({ length: 0, header: null });
    const error = await failureOf(uiSendBatch(client(ui), "my_set", [image(name, bytes(5), "c")], {}));
    expect(error.kind).toBe("tool");
    expect(error.message).toMatch(message);
    expect(ui.calls).toHaveLength(0);
  });

  it("refuses two files the UI would store under one name (case-insensitively, captions included)", async () => {
    const ui = uiWithRoutes({ length: 0, header: null });
    const twins = await failureOf(
      uiSendBatch(client(ui), "my_set", [image("A.png", bytes(5), "c"), image("a.png", bytes(5), "c")], {}),
    );
    expect(twins.message).toMatch(/"a.png" and "A.png" would both be stored as a.png/);
    const caption = await failureOf(
      uiSendBatch(client(ui), "my_set", [image("a.txt", bytes(5), "c"), image("b.png", bytes(5), "c")], {}),
    );
    expect(caption.message).toMatch(/the caption of "a.txt" and "a.txt" would both be stored as a.txt/);
    expect(ui.calls).toHaveLength(0);
  });

  it("fails with a tool error naming the files the UI's answer leaves out", async () => {
    const ui = uiWithRoutes({ length: 0, header: null }, ["b.png", "b.txt"]);
    const error = await failureOf(
      uiSendBatch(client(ui), "my_set", [image("a.png", bytes(5), "c"), image("b.png", bytes(7), "d")], {}),
    );
    expect(error.kind).toBe("tool");
    expect(error.message).toMatch(/stored 2 of the 4 files .*missing: b.png, b.txt/);
  });

  it("fails when the UI stops mid-answer", async () => {
    const ui = uiWithRoutes({ length: 0, header: null }).on("POST /api/datasets/upload", async (request) => {
      await request.arrayBuffer();
      return new Response(stallingBody('{"message":"Files up'), { headers: { "content-type": "application/json" } });
    });
    const error = await failureOf(
      uiSendBatch(client(ui), "my_set", [image("a.png", bytes(5), "c")], { timeoutMs: 300 }),
    );
    expect(error.kind).toBe("timeout");
    expect(error.message).toMatch(/began answering POST \/api\/datasets\/upload but then sent nothing/);
  });

  it("never sends the HF token anywhere and keeps a Windows folder's separator", async () => {
    const ui = uiWithRoutes({ length: 0, header: null }).on(
      "GET /api/settings",
      json({ ...SETTINGS, DATASETS_FOLDER: "C:\\ai-toolkit\\datasets" }),
    );
    const sent = await uiSendBatch(client(ui), "my_set", [image("a.png", bytes(5), "c")], {});
    expect(sent.path).toBe("C:\\ai-toolkit\\datasets\\my_set");
    expect(JSON.stringify(sent)).not.toContain("hf_secret");
  });
});

describe("uiListDatasets", () => {
  it("counts every dataset's images, at most four requests at once", async () => {
    const names = Array.from({ length: 10 }, (_, k) => `set_${k}`);
    let inFlight = 0;
    let most = 0;
    const ui = new ScriptedUi()
      .on("GET /api/datasets/list", json([...names, "gone", "a:b"]))
      .on("POST /api/datasets/listImages", async (request) => {
        const { datasetName } = (await request.json()) as { datasetName: string };
        if (datasetName === "gone") return Response.json({ error: "Folder 'gone' not found" }, { status: 404 });
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 10));
        inFlight--;
        const k = Number(datasetName.split("_")[1]);
        return Response.json({ root: `/d/${datasetName}/`, images: Array.from({ length: k }, (_, i) => `${i}.png`) });
      });
    const listed = await uiListDatasets(client(ui));
    expect(listed.slice(0, 10)).toEqual(names.map((name, k) => ({ name, images: k })));
    // Deleted between the calls: left out. A name the Worker never sends: listed, uncounted, said so.
    expect(listed[10]).toMatchObject({ name: "a:b", images: 0, note: expect.stringMatching(/not counted/) });
    expect(listed).toHaveLength(11);
    expect(most).toBeLessThanOrEqual(4);
    expect(most).toBeGreaterThan(1);
  });

  it("fails as a whole when a count fails for another reason", async () => {
    const ui = new ScriptedUi()
      .on("GET /api/datasets/list", json(["a"]))
      .on("POST /api/datasets/listImages", () =>
        Response.json({ error: "Failed to process request" }, { status: 500 }),
      );
    const error = await failureOf(uiListDatasets(client(ui)));
    expect(error.kind).toBe("tool");
    expect(error.message).toMatch(/Failed to process request/);
  });
});
