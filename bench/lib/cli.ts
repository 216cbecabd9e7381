// What every benchmark entry point does with its command line.

/**
 * The options `parse` reads from the command line, or undefined once it has printed why they are
 * wrong and the usage (the entry point then exits with 2).
 */
export function commandLine<T>(parse: () => T, usage: string): T | undefined {
  try {
    return parse();
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage}`);
    return undefined;
  }
}
