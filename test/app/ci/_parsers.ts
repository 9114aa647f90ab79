/**
 * The engines' own published parsers, loaded for the tests: GitHub's workflow
 * parser (@actions/workflow-parser, the one behind GitHub's language services) and
 * the Argo Workflows models (@kubernetes-models/argo-workflows, generated from
 * Argo's Go types with their JSON schema validation). Both are ES modules; the
 * first imports its schema JSON without an import attribute (it is bundled where
 * GitHub uses it), which Node accepts only with a load hook that supplies one.
 */
import { register } from 'node:module';

const JSON_HOOK = `export async function load(url, context, next) {
  if (url.endsWith('.json') && url.includes('/@actions/') && !context.importAttributes?.type) return next(url, { ...context, importAttributes: { ...context.importAttributes, type: 'json' } });
  return next(url, context);
}`;
let hooked = false;

/** A real `import()` (ts-node would turn one written in the source into require, which cannot load these). */
const importEsm = new Function('s', 'return import(s)') as (specifier: string) => Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** What GitHub's parser reports about a workflow file: schema errors, then the model's (needs naming unknown jobs, cycles). */
export async function githubErrors(yaml: string): Promise<{ errors: string[]; jobs: { id: string; needs: string[]; runsOn: unknown }[] }> {
  if (!hooked) (register('data:text/javascript,' + encodeURIComponent(JSON_HOOK)), (hooked = true));
  const wp = await importEsm('@actions/workflow-parser');
  const parsed = wp.parseWorkflow({ name: 'images.yml', content: yaml }, new wp.NoOperationTraceWriter());
  const errors: string[] = parsed.context.errors.getErrors().map((e: { message: string }) => e.message);
  if (errors.length || !parsed.value) return { errors, jobs: [] };
  const template = await wp.convertWorkflowTemplate(parsed.context, parsed.value);
  return {
    errors: (template.errors ?? []).map((e: { Message: string }) => e.Message),
    jobs: template.jobs.map((j: { id: { value: string }; needs?: { value: string }[]; 'runs-on'?: { toJSON?: () => unknown } }) => ({
      id: j.id.value,
      needs: (j.needs ?? []).map((n) => n.value),
      runsOn: j['runs-on'],
    })),
  };
}

/** Validates a Workflow object with the Argo Workflows model; throws the schema's message when it is not one. */
export async function validateArgo(doc: unknown): Promise<void> {
  const { Workflow } = await importEsm('@kubernetes-models/argo-workflows/argoproj.io/v1alpha1/Workflow');
  new Workflow(doc).validate();
}
