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

/**
 * Variables that change how programs load or start: the dynamic loader's,
 * the start-up hooks of the common interpreters and shells, and PATH. A
 * secret with one of these names hands code execution to whoever could write
 * it (a key with only secrets:write), so `run` and `export --format shell`
 * refuse them unless each is allowed by name.
 */
const STARTUP_VARIABLES = new Set([
  'PATH',
  // The dynamic loader (glibc's ld.so and its secure-execution list; macOS's dyld below).
  'GCONV_PATH',
  'GLIBC_TUNABLES',
  'HOSTALIASES',
  'LOCPATH',
  'NLSPATH',
  'RESOLV_HOST_CONF',
  // Shells: start-up files and what runs before each prompt or command.
  'BASH_ENV',
  'ENV',
  'ZDOTDIR',
  'PROMPT_COMMAND',
  'PS4',
  'SHELLOPTS',
  'BASHOPTS',
  'IFS',
  // Interpreters and runtimes.
  'NODE_OPTIONS',
  'NODE_PATH',
  'PYTHONPATH',
  'PYTHONSTARTUP',
  'PYTHONHOME',
  'PYTHONUSERBASE',
  'PYTHONWARNINGS',
  'PYTHONBREAKPOINT',
  'PYTHONINSPECT',
  'PERL5OPT',
  'PERL5LIB',
  'PERLLIB',
  'PERL5DB',
  'RUBYOPT',
  'RUBYLIB',
  'JAVA_TOOL_OPTIONS',
  '_JAVA_OPTIONS',
  'JDK_JAVA_OPTIONS',
  'CLASSPATH',
  'DOTNET_STARTUP_HOOKS',
  'CORECLR_ENABLE_PROFILING',
  'CORECLR_PROFILER',
  'CORECLR_PROFILER_PATH',
  'PHPRC',
  'PHP_INI_SCAN_DIR',
]);
const STARTUP_PREFIXES = ['LD_', 'DYLD_'];

/** The names among `names` that change how programs load or start and were not allowed. */
export function startupVariables(names: readonly string[], allowed: readonly string[]): string[] {
  return names.filter((name) => (STARTUP_VARIABLES.has(name) || STARTUP_PREFIXES.some((p) => name.startsWith(p))) && !allowed.includes(name));
}
