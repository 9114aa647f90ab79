/**
 * An Argo Workflow of the shape `imgsdk ci argo` writes, from the plan
 * (`graph --format json`), for the tests and the load figure.
 */
import { stringify } from 'yaml';

/** What of `graph --format json` a workflow needs. */
export interface Plan {
  readonly images: Record<string, { readonly key: string; readonly dependsOn: readonly string[]; readonly platforms?: Record<string, string> }>;
  readonly levels: readonly (readonly string[])[];
}

/**
 * The app's Argo Workflow: a build task per image (dependencies: its parent's and
 * copy sources' builds), a publish task per image after its build; the build
 * template retries exit 75.
 */
export function workflow(plan: Plan, cache: string, app?: string): string {
  const name = (id: string, platform = '') => `${id}${platform ? `-${platform}` : ''}`.replace(/[^a-z0-9]+/g, '-');
  // A build per image and platform ('' for an image that names none), after the builds of its dependencies on that platform.
  const platformsOf = (id: string) => Object.keys(plan.images[id].platforms ?? { '': '' });
  const tasks = Object.entries(plan.images).flatMap(([id, m]) => [
    ...platformsOf(id).map((p) => ({
      name: `build-${name(id, p)}`, template: 'build',
      ...(m.dependsOn.length ? { dependencies: m.dependsOn.map((d) => `build-${name(d, platformsOf(d).includes(p) ? p : '')}`) } : {}),
      arguments: { parameters: [{ name: 'image', value: id }, { name: 'platform', value: p }] },
    })),
    { name: `publish-${name(id)}`, template: 'publish', dependencies: platformsOf(id).map((p) => `build-${name(id, p)}`), arguments: { parameters: [{ name: 'image', value: id }] } },
  ]);
  const retryStrategy = { limit: 3, retryPolicy: 'Always', expression: 'lastRetry.status == "Error" || asInt(lastRetry.exitCode) == 75' };
  const template = (tname: string, params: string[], args: string[]) => ({
    name: tname, inputs: { parameters: params.map((p) => ({ name: p })) }, retryStrategy, container: { name: 'main', image: 'runner', command: ['imgsdk'], args },
  });
  return stringify({
    apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', metadata: { generateName: 'images-' },
    spec: {
      entrypoint: 'images',
      templates: [
        { name: 'images', dag: { tasks } },
        template('build', ['image', 'platform'], ['node', '{{inputs.parameters.image}}', '--platform', '{{inputs.parameters.platform}}', '--cache', cache, ...(app ? ['--app', app] : [])]),
        template('publish', ['image'], ['node', '{{inputs.parameters.image}}', '--publish', '--cache', cache, ...(app ? ['--app', app] : [])]),
      ],
    },
  });
}

