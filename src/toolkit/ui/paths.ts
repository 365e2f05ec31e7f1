/**
 * Paths on the UI's machine, which may be POSIX or Windows (the UI runs on both): its folders
 * come from its settings, and paths a caller gives are checked against them segment by segment,
 * never by string prefix alone ("/data/datasets-old" is not inside "/data/datasets").
 */

const WINDOWS = /^[A-Za-z]:[\\/]/;

function styleOf(folder: string): { windows: boolean; separator: string; split: RegExp } {
  const windows = WINDOWS.test(folder);
  return windows ? { windows, separator: "\\", split: /[\\/]+/ } : { windows, separator: "/", split: /\/+/ };
}

/** `folder` joined with `name` by the folder's own separator. */
export function joinFolder(folder: string, name: string): string {
  const { separator } = styleOf(folder);
  return `${folder.replace(/[\\/]+$/, "")}${separator}${name}`;
}

/**
 * Where `path` lies inside `folder`: at least one segment below it. Answers the path written the
 * folder's way (no trailing separator) and its first segment below the folder (the dataset's
 * name), or why it is not inside.
 */
export function dataPathIn(path: string, folder: string): { path: string; dataset: string } | { problem: string } {
  const style = styleOf(folder);
  if (/[\0-\x1f\x7f]/.test(path)) return { problem: "it contains control characters" };
  const absolute = style.windows ? WINDOWS.test(path) : path.startsWith("/");
  if (!absolute) return { problem: "it is not an absolute path" };
  const segments = path.split(style.split).filter((segment, index) => segment !== "" || index === 0);
  if (segments.some((segment) => segment === "." || segment === "..")) {
    return { problem: "it contains '.' or '..' segments" };
  }
  const base = folder.replace(/[\\/]+$/, "").split(style.split);
  const same = (a: string, b: string) => (style.windows ? a.toLowerCase() === b.toLowerCase() : a === b);
  const below = base.every((segment, index) => segments[index] !== undefined && same(segments[index], segment));
  if (!below || segments.length <= base.length) return { problem: "it is not below that folder" };
  const rest = segments.slice(base.length);
  return { path: joinFolder(folder, rest.join(style.separator)), dataset: rest[0] ?? "" };
}
