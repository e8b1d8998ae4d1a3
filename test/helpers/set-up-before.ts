/**
 * uvu does not report an error thrown by a `before` hook (the suite just
 * shows fewer tests run), so the set-up runs in the hook with its error
 * kept, and each test calls check(), which throws it.
 */
export function setUpBefore(suite: { before: (hook: () => Promise<void>) => void }, setUp: () => Promise<unknown>): { check(): void } {
  let failed: { error: unknown } | undefined;
  suite.before(async () => {
    try {
      await setUp();
    } catch (error) {
      failed = { error };
    }
  });
  return {
    check() {
      if (failed === undefined) return;
      const { error } = failed;
      throw new Error(`set-up failed: ${error instanceof Error ? error.stack : String(error)}`);
    },
  };
}
