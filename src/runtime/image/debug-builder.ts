import type { BuilderDef } from '../../contract/assembly';

/**
 * The builder busybox-static comes from for images without a Debian builder
 * (Gentoo): a bookworm minbase bootstrapped with mmdebstrap, made once and
 * reused like any builder. Its architecture is the host's.
 */
export const DEBUG_BUILDER: BuilderDef = {
  id: 'imgsdk/debug-bookworm',
  kind: 'debian',
  libc: 'glibc',
  arch: 'amd64',
  gentoo: null,
  debian: {
    suite: 'bookworm',
    mirror: 'http://deb.debian.org/debian',
    updates: true,
    security: 'http://deb.debian.org/debian-security',
    snapshot: null,
    sources: [],
    network: null,
    source: { kind: 'mmdebstrap', variant: 'minbase', include: [] },
  },
};
