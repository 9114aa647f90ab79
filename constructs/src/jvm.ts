import type { Image } from 'imgsdk';
import { appBase, type AppProps } from './common';

/** A JVM app from one runnable jar. */
export interface JvmAppProps extends AppProps {
  /** The jar (with a Main-Class in its manifest), relative to the file that calls `jvmApp`. */
  readonly jar: string;
  /** The Debian JRE package. @default 'openjdk-17-jre-headless' */
  readonly jre?: string;
  /** JVM options before `-jar`. @default ['-XX:+UseSerialGC', '-Xss512k'] (small heaps start fast) */
  readonly jvmOptions?: readonly string[];
  /** Where the jar goes in the image. @default '/app/app.jar' */
  readonly dest?: string;
}

/**
 * A runnable jar on Debian's headless JRE (17 by default), run as `java -jar` by a
 * non-root account. The JVM handles SIGTERM itself (shutdown hooks run), so there is
 * no init; `.init()` adds one.
 * @example export const svc = jvmApp('acme/svc', { jar: 'build/libs/svc.jar' });
 */
export function jvmApp(id: string, props: JvmAppProps): Image {
  const dest = props.dest ?? '/app/app.jar';
  const opts = props.jvmOptions ?? ['-XX:+UseSerialGC', '-Xss512k'];
  return appBase(id, props, [props.jre ?? 'openjdk-17-jre-headless'])
    .file(dest, { src: props.jar }, { mode: 0o644 })
    .entrypoint('/usr/bin/java', ...opts, '-jar', dest);
}
