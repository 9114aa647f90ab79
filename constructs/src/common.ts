import { debian, image, markLibrary, type Builder, type Image } from 'imgsdk';

// Paths and problems refer to the user's file that called a construct, not to this package.
markLibrary(__dirname);

/**
 * The builder the constructs use unless given one: Debian bookworm with its updates
 * and security suites.
 * @example nodeApp('acme/api', { dir: 'api', builder: bookworm })
 */
export const bookworm: Builder = debian.builder('imgsdk-apps/bookworm', { suite: 'bookworm' });

/** What every construct takes. */
export interface AppProps {
  /** The Debian builder. @default {@link bookworm} */
  readonly builder?: Builder;
  /** The account the app runs as: created in the image, owning nothing of the app's files. @default { user: 'app', uid: 10001 } */
  readonly account?: { readonly user: string; readonly uid: number };
  /** The port the app listens on (`.expose()`, and `PORT` in the environment). @default 8080 */
  readonly port?: number;
  /** More environment variables. @default {} */
  readonly env?: Readonly<Record<string, string>>;
  /** More Debian packages (libraries the app loads, fonts, CA certificates). @default [] */
  readonly packages?: readonly string[];
}

/** The account when none is given: a non-root user of its own, not `nobody` (which other services share). */
export const APP_ACCOUNT = { user: 'app', uid: 10001 } as const;

/** The port when none is given: above 1024, so a non-root process can bind it. */
export const APP_PORT = 8080;

/**
 * The part every construct shares: builder, packages, a non-root account, the port
 * and the environment. The app's files stay owned by root, so the app cannot change
 * its own code.
 * @example appBase('acme/api', { port: 3000 }, ['nodejs'])
 */
export function appBase(id: string, props: AppProps, packages: readonly string[]): Image {
  const account = props.account ?? APP_ACCOUNT;
  const port = props.port ?? APP_PORT;
  let img = image(id)
    .builder(props.builder ?? bookworm)
    .packages(...packages, ...(props.packages ?? []))
    .account({ user: account.user, uid: account.uid, home: '/nonexistent' })
    .user(account.user)
    .expose(port)
    .env('PORT', String(port));
  for (const [k, v] of Object.entries(props.env ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) img = img.env(k, v);
  return img;
}

/**
 * A host directory at `dest` as a layer of its own (`Image.dir()`), owned by root,
 * leaving out `ignore` (`.dockerignore` patterns; `<src>/.dockerignore` is read too).
 * @example addTree(img, '/app', 'api', ['node_modules'])
 */
export function addTree(img: Image, dest: string, src: string, ignore: readonly string[] = []): Image {
  return img.dir(dest, { src, ignore });
}
