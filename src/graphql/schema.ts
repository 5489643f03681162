// Imports every type file, then builds the schema.
import { lexicographicSortSchema } from 'graphql';
import { builder } from './builder.ts';
import './types/errors.ts';
import './types/secret.ts';
import './types/audit.ts';
import './types/api-key.ts';
import './types/identity.ts';
import './types/environment.ts';
import './types/override.ts';
import './types/history.ts';
import './types/event.ts';
import './types/webhook.ts';
import './types/viewer.ts';

export const schema = lexicographicSortSchema(builder.toSchema());
