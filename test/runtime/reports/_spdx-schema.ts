/**
 * The official SPDX 2.3 JSON schema (a copy of ../shared/schemas/spdx-2.3.schema.json,
 * from spdx/spdx-spec support/2.3, so a fresh clone has it), compiled once with ajv.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';

let validate: ReturnType<Ajv['compile']> | undefined;

/** The schema's complaints about `doc`, one line each; empty when it validates. */
export function validateSpdx(doc: unknown): string[] {
  if (!validate) {
    const schema = JSON.parse(readFileSync(join(__dirname, '..', '..', 'fixtures', 'spdx-2.3.schema.json'), 'utf8')) as object;
    validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
  }
  if (validate(doc)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}
