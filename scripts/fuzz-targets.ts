// What scripts/fuzz.sh fuzzes: every REST door of the registry, one line
// each, "<slug><TAB><the header that carries the key FUZZ_KEY>", so that a
// new door is fuzzed without a change to the script.
import { DOORS } from '../src/rest/doors.ts';
import { credentialHeaderOf } from '../src/rest/openapi.ts';

const key = process.env.FUZZ_KEY;
if (!key) throw new Error('FUZZ_KEY: the API key to fuzz with');
for (const door of DOORS) process.stdout.write(`${door.slug}\t${credentialHeaderOf(door, key)}\n`);
