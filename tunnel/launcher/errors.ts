/**
 * A failure the launcher reports to the person running it, with the process exit code to use.
 * Exit codes: 2 means "your configuration is wrong" (nothing will work until you change it),
 * 1 means "something failed while starting" (may work on the next attempt or after installing).
 */
export class LauncherError extends Error {
  override name = "LauncherError";
  readonly exitCode: 1 | 2;

  constructor(exitCode: 1 | 2, message: string) {
    super(message);
    this.exitCode = exitCode;
  }
}
