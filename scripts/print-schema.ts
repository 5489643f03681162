// Prints the code-first GraphQL schema to schema.graphql (npm run schema).
// A test fails when the committed file drifts from the code.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { printSchema } from 'graphql';
import { projectRoot } from '../src/config.ts';
import { schema } from '../src/graphql/schema.ts';

const file = path.join(projectRoot, 'schema.graphql');
writeFileSync(file, `${printSchema(schema)}\n`);
console.log(`wrote ${file}`);
