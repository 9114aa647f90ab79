/**
 * The errors imgsdk throws. One base class with a `code` and an optional `cause`,
 * and a few subclasses that carry the data a caller may want to act on.
 * The CLI prints an ImgsdkError as its message alone; anything else whole.
 */

/** Base class of every error imgsdk throws on purpose. */
export class ImgsdkError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
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
    super(
      'VALIDATION',
      `${n} problem${n === 1 ? '' : 's'} in the image definitions:\n` + problems.map(formatProblem).join('\n'),
    );
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
  constructor(message: string, entries: readonly string[] = []) {
    super('ROOTFS', message);
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

/** The operation was interrupted (Ctrl-C, abort signal). */
export class CancelledError extends ImgsdkError {
  constructor(message = 'cancelled') {
    super('CANCELLED', message);
  }
}
