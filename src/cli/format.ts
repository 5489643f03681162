// Output formats of `secrets export`. Pure functions.

/** Names a shell or dotenv file can hold; others (e.g. `team/key` from Together) are skipped. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function toDotenv(values: Record<string, string>): string {
  return Object.entries(values)
    .filter(([name]) => ENV_NAME.test(name))
    .map(([name, value]) => `${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}"`)
    .join('\n');
}

export function toShell(values: Record<string, string>): string {
  return Object.entries(values)
    .filter(([name]) => ENV_NAME.test(name))
    .map(([name, value]) => `export ${name}='${value.replace(/'/g, `'\\''`)}'`)
    .join('\n');
}

export function toJson(values: Record<string, string>): string {
  return JSON.stringify(values, null, 2);
}
