// The console's GraphQL operations are checked against schema.graphql when it
// is built (`gql.tada check` in build:console): an operation asking for a
// field the API does not have fails the build. Run here on a copy of the
// console's typing set-up with one probe operation, good and then bad.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config.ts';

const root = mkdtempSync(path.join(tmpdir(), 'console-typed-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
mkdirSync(path.join(root, 'console', 'src'), { recursive: true });
copyFileSync(path.join(projectRoot, 'schema.graphql'), path.join(root, 'schema.graphql'));
for (const file of ['graphql.ts', 'graphql-env.d.ts']) copyFileSync(path.join(projectRoot, 'console', 'src', file), path.join(root, 'console', 'src', file));
// The console's own tsconfig (its gql.tada plugin settings), over the probe's folder only.
const tsconfig = readFileSync(path.join(projectRoot, 'console', 'tsconfig.json'), 'utf8').replace('"include": ["src", "vite.config.ts"]', '"include": ["src"]');
expect(tsconfig).toContain('"include": ["src"]');
writeFileSync(path.join(root, 'console', 'tsconfig.json'), tsconfig);
symlinkSync(path.join(projectRoot, 'node_modules'), path.join(root, 'node_modules'));

async function check(selection: string) {
  writeFileSync(
    path.join(root, 'console', 'src', 'probe.ts'),
    `import { graphql } from './graphql.ts';\nexport const Probe = graphql(\`query Probe { viewer { ${selection} } }\`);\n`,
  );
  const bin = path.join(projectRoot, 'node_modules', '.bin', 'gql.tada');
  return promisify(execFile)(bin, ['check', '-c', 'console/tsconfig.json'], { cwd: root }).then(
    ({ stdout }) => ({ code: 0, output: stdout }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, output: `${err.stdout}${err.stderr}` }),
  );
}

describe("the console's typed operations", { timeout: 60_000 }, () => {
  it('pass the check when every field exists', async () => {
    expect(await check('keyId scopes')).toMatchObject({ code: 0 });
  });

  it('fail it, naming the field, when one does not', async () => {
    const result = await check('keyId noSuchField');
    expect(result.code).toBe(1);
    expect(result.output).toContain('Cannot query field "noSuchField" on type "Viewer"');
  });
});
