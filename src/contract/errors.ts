/**
 * The errors imgsdk throws. One base class with a `code` from ERROR_CODES and an
 * optional `cause`, and a few subclasses that carry the data a caller may want to
 * act on. The CLI prints an ImgsdkError as its message alone and exits with the
 * exit code of its code; anything else whole, with exit code 1.
 */

/**
 * Every error code imgsdk throws, with the exit code of the CLI and what it means.
 * A code not listed here does not type-check (a typo such as BUIDL fails).
 */
export const ERROR_CODES = {
  USAGE: { exit: 2, meaning: 'the command line or an option asks for something impossible' },
  VALIDATION: { exit: 1, meaning: 'the image definitions have problems (each with its file:line)' },
  LOAD: { exit: 1, meaning: 'images.ts (or a module it imports) failed to load' },
  ATOM: { exit: 1, meaning: 'a Portage package atom is not valid' },
  DEBIAN: { exit: 1, meaning: 'a Debian package name or version is not valid' },
  ASSEMBLY: { exit: 1, meaning: 'the assembly on disk is missing, corrupt or of a newer major version' },
  LOCK: { exit: 1, meaning: 'imgsdk.lock is malformed, or lacks entries the app needs (--frozen-lock)' },
  ENGINE: { exit: 1, meaning: 'the container engine could not be reached or refused a request' },
  BUILD: { exit: 1, meaning: 'building one image or builder failed' },
  FETCH: { exit: 1, meaning: 'a download (stage3, Portage snapshot) is missing or the mirror failed' },
  INTEGRITY: { exit: 1, meaning: 'a download does not match its checksum or signature, or cannot be checked' },
  ROOTFS: { exit: 1, meaning: 'a rootfs entry or ELF file broke a rule, or the rootfs settings of an image are wrong' },
  ACCOUNT: { exit: 1, meaning: 'an account cannot be written into passwd/group' },
  ARCHIVE: { exit: 1, meaning: 'an image archive or OCI layout is inconsistent' },
  PUSH: { exit: 1, meaning: 'a registry refused a push' },
  VERIFY: { exit: 1, meaning: 'a signature, an attestation or an SBOM did not verify (or is missing)' },
  STATE: { exit: 1, meaning: 'the state directory cannot be used' },
  PLATFORM: { exit: 1, meaning: 'a platform imgsdk does not know' },
  INTERNAL: { exit: 1, meaning: 'an inconsistency inside imgsdk (a bug: please report it)' },
  CANCELLED: { exit: 130, meaning: 'the operation was interrupted (Ctrl-C, abort signal)' },
  UNAVAILABLE: {
    exit: 75,
    meaning:
      'an engine or registry did not answer, or what a build needs is not in the registry cache yet: retrying may succeed (EX_TEMPFAIL)',
  },
} as const satisfies Readonly<Record<string, { readonly exit: number; readonly meaning: string }>>;

/** A code of ERROR_CODES. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The CLI's exit code for an error: its code's, or 1 for anything that is not an ImgsdkError. */
export function exitCodeOf(e: unknown): number {
  return e instanceof ImgsdkError ? ERROR_CODES[e.code].exit : 1;
}

/** Base class of every error imgsdk throws on purpose. */
export class ImgsdkError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }

  /** The CLI's exit code for this error (ERROR_CODES). */
  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }
}

/** One problem found in the definitions, with where it was written. */
export interface Problem {
  /** `file:line` of the call that caused it, when known. */
  readonly site?: string;
  /** Image or builder id the problem belongs to. */
  readonly id: string;
  readonly message: string;
}

/** Renders a problem as one line: `images.ts:12 mynamespace/nmap: message`. */
export function formatProblem(p: Problem): string {
  return `${p.site ? p.site + ' ' : ''}${p.id}: ${p.message}`;
}

/** Every problem of an app, found in one run and reported at once. */
export class ValidationError extends ImgsdkError {
  readonly problems: readonly Problem[];
  constructor(problems: readonly Problem[]) {
    const n = problems.length;
    super('VALIDATION', `${n} problem${n === 1 ? '' : 's'} in the image definitions:\n` + problems.map(formatProblem).join('\n'));
    this.problems = problems;
  }
}

/** The user asked for something impossible on the command line or in options. */
export class UsageError extends ImgsdkError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

/** The assembly on disk is missing, corrupt or of a newer major version. */
export class AssemblyError extends ImgsdkError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ASSEMBLY', message, options);
  }
}

/** The container engine could not be reached or refused a request. */
export class EngineError extends ImgsdkError {
  readonly statusCode?: number;
  constructor(message: string, options?: { cause?: unknown; statusCode?: number }) {
    super('ENGINE', message, options);
    this.statusCode = options?.statusCode;
  }
}

/** Building one image failed; names the image and, when known, the phase. */
export class BuildError extends ImgsdkError {
  readonly imageId: string;
  readonly phase?: string;
  constructor(imageId: string, message: string, options?: { cause?: unknown; phase?: string }) {
    super('BUILD', `${imageId}: ${message}`, options);
    this.imageId = imageId;
    this.phase = options?.phase;
  }
}

/** A rootfs entry or ELF file broke a rule (escape, device node, missing library). */
export class RootfsError extends ImgsdkError {
  /** Entries or files named by the error. */
  readonly entries: readonly string[];
  constructor(message: string, entries: readonly string[] = [], options?: { cause?: unknown }) {
    super('ROOTFS', message, options);
    this.entries = entries;
  }
}

/** imgsdk.lock is malformed, or lacks what the app needs where it must not (`--frozen-lock`). */
export class LockError extends ImgsdkError {
  /** Images whose entries are missing or stale. */
  readonly images: readonly string[];
  constructor(message: string, images: readonly string[] = []) {
    super('LOCK', message);
    this.images = images;
  }
}

/** A signature, an attestation or an SBOM did not verify, or is missing. */
export class VerifyError extends ImgsdkError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('VERIFY', message, options);
  }
}

/** The operation was interrupted (Ctrl-C, abort signal). */
export class CancelledError extends ImgsdkError {
  constructor(message = 'cancelled') {
    super('CANCELLED', message);
  }
}

/**
 * Something a build needs is not there yet and may be later: a registry or an
 * engine that does not answer, a dependency not yet in the registry cache. Its exit
 * code is 75 (EX_TEMPFAIL), which a workflow engine's retry policy retries.
 */
export class UnavailableError extends ImgsdkError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('UNAVAILABLE', message, options);
  }
}

/** The exit code that says "retry me" (sysexits.h EX_TEMPFAIL); `imgsdk node` exits with it for a retryable failure. */
export const EX_TEMPFAIL = 75;

/** Socket and DNS failures that a later attempt may not meet (Node's and undici's codes). */
const TRANSIENT_SYSCALL =
  /^(ECONNREFUSED|ECONNRESET|ECONNABORTED|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ENOTFOUND|UND_ERR_\w+)$/;

/**
 * Whether a failure may go away when the same thing is tried again: an engine or a
 * registry that does not answer (or answers 5xx/429), an interruption, a dependency
 * not in the cache yet. Anything about the definition, the packages or the rootfs
 * is permanent: trying again gives the same answer. Follows `cause` links.
 * @example isRetryable(new UnavailableError('registry down')) // true
 * @example isRetryable(new BuildError('ns/x', 'link check failed')) // false
 */
export function isRetryable(e: unknown): boolean {
  for (let cur = e, depth = 0; cur && depth < 8; cur = (cur as { cause?: unknown }).cause, depth++) {
    if (cur instanceof UnavailableError || cur instanceof CancelledError) return true;
    if (
      cur instanceof EngineError &&
      (cur.statusCode === undefined || cur.statusCode >= 500 || cur.statusCode === 408 || cur.statusCode === 429)
    )
      return true;
    // A registry request of the cache that the registry answered with a server error.
    if (cur instanceof BuildError && cur.phase === 'cache' && /\bHTTP (5\d\d|429)\b/.test(cur.message)) return true;
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && TRANSIENT_SYSCALL.test(code)) return true;
  }
  return false;
}

/** A download is missing, the mirror failed, or what came does not match its checksum or signature. */
export class FetchError extends ImgsdkError {
  readonly url?: string;
  constructor(code: 'FETCH' | 'INTEGRITY', message: string, options?: { cause?: unknown; url?: string }) {
    super(code, message, options);
    this.url = options?.url;
  }
}
