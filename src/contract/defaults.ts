/**
 * Where imgsdk reads and writes when it is not told: one place for the names and
 * the environment variables, read by the SDK (synth), the runtime and the app layer.
 *
 * The defaults sit beside the app, as CDK keeps `cdk.out` beside `cdk.json`: the
 * assembly in `<app dir>/imgsdk.out`, the state directory (build records, layers,
 * rootfs caches) in `<app dir>/.imgsdk`. So the same app deployed from another
 * working directory (a build script, CI, `--app ../web`) finds its cache. An
 * environment variable or a flag names a directory relative to the working
 * directory of whoever sets it.
 */
import { dirname, join, resolve } from 'node:path';

/** Name of the assembly directory beside the app. */
export const OUT_DIR_NAME = 'imgsdk.out';
/** Name of the state directory beside the app. */
export const STATE_DIR_NAME = '.imgsdk';
/** Overrides the assembly directory (relative to the working directory). */
export const ENV_OUT_DIR = 'IMGSDK_OUTDIR';
/** Overrides the state directory (relative to the working directory). */
export const ENV_STATE_DIR = 'IMGSDK_STATE_DIR';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The assembly directory of an app in `appDir`: `$IMGSDK_OUTDIR`, else `<appDir>/imgsdk.out`.
 * @example outDirOf('/src/web') // '/src/web/imgsdk.out'
 */
export function outDirOf(appDir: string = process.cwd(), env: Env = process.env): string {
  return resolve(env[ENV_OUT_DIR] || join(resolve(appDir), OUT_DIR_NAME));
}

/**
 * The state directory of an app in `appDir`: `$IMGSDK_STATE_DIR`, else `<appDir>/.imgsdk`.
 * @example stateDirOf('/src/web') // '/src/web/.imgsdk'
 */
export function stateDirOf(appDir: string = process.cwd(), env: Env = process.env): string {
  return resolve(env[ENV_STATE_DIR] || join(resolve(appDir), STATE_DIR_NAME));
}

/**
 * The state directory that goes with an assembly directory: `$IMGSDK_STATE_DIR`, else
 * `.imgsdk` beside it (an assembly sits in its app's directory, so both are the app's).
 * @example stateDirOfAssembly('/src/web/imgsdk.out') // '/src/web/.imgsdk'
 */
export function stateDirOfAssembly(assemblyDir: string, env: Env = process.env): string {
  // An assembly held in memory has no directory (''): the working directory's.
  return stateDirOf(assemblyDir ? dirname(resolve(assemblyDir)) : process.cwd(), env);
}

/** A private key (PEM file, or the PEM itself) that signs what deploy pushes and publishes. */
export const ENV_SIGN_KEY = 'IMGSDK_SIGN_KEY';
/** The passphrase of an encrypted signing key. */
export const ENV_SIGN_KEY_PASSPHRASE = 'IMGSDK_SIGN_KEY_PASSPHRASE';

/**
 * The signing key and its passphrase: the options given, else the environment's.
 * @example signingKeyOf({}, { IMGSDK_SIGN_KEY: 'ci.key' }) // { key: 'ci.key', passphrase: undefined }
 */
export function signingKeyOf(
  o: { readonly signKey?: string; readonly signKeyPassphrase?: string },
  env: Env = process.env,
): { key: string | undefined; passphrase: string | undefined } {
  return { key: o.signKey ?? (env[ENV_SIGN_KEY] || undefined), passphrase: o.signKeyPassphrase ?? env[ENV_SIGN_KEY_PASSPHRASE] };
}
