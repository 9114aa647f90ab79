/**
 * `imgsdk verify REF --key PUB`: checks a pushed image offline, with public keys
 * only. For a tag or digest naming an image index, the index's own signature and
 * then every platform's manifest; for a manifest, that one. Per manifest: its
 * signature, every attestation attached to it (signed by a trusted key, about
 * this digest), the provenance and SBOM being there, and the SBOM's packages
 * being the package database the image's layers hold.
 */
import { ImgsdkError, VerifyError } from '../../../contract/errors';
import type { RegistryAuth } from '../../engine/engine';
import { RegistryClient } from '../attest';
import { getManifest } from './artifacts';
import { PREDICATE } from './bundles';
import { checkAttestations, checkSignature } from './check';
import type { TrustedKey } from './keys';
import { packagesInLayers, packagesInSbom } from './pkgdb';

/** What was verified of one manifest. */
export interface VerifiedManifest {
  readonly digest: string;
  /** `linux/arm64` for a manifest an index lists; null for a manifest named directly or the index itself. */
  readonly platform: string | null;
  readonly kind: 'index' | 'image';
  /** The key that signed it (its source: the file given). */
  readonly signedBy: string;
  /** Predicate types of its verified attestations. */
  readonly attestations: readonly string[];
  /** Packages the SBOM names and the package database holds (images with an SBOM). */
  readonly packages?: number;
}

/** Everything `verify` checked, in order. */
export interface VerifyResult {
  /** The reference as given. */
  readonly ref: string;
  readonly digest: string;
  readonly manifests: readonly VerifiedManifest[];
}

export interface VerifyOptions {
  readonly auth?: RegistryAuth | null;
  /** Require the provenance and SBOM attestations (and check the SBOM against the image). false: the signature alone (a `:debug` variant has no attestations). @default true */
  readonly attestations?: boolean;
  readonly log?: (line: string) => void;
}

/**
 * Verifies `ref` (`host[:port]/repo[:tag|@sha256:…]`) with `keys`. Throws an
 * ImgsdkError (code VERIFY) naming the manifest and what did not verify.
 */
export async function verifyImage(ref: string, keys: readonly TrustedKey[], o: VerifyOptions = {}): Promise<VerifyResult> {
  if (!keys.length) throw new ImgsdkError('USAGE', `verify ${ref}: no public key given (--key FILE)`);
  const { registry, repo, reference } = parseRef(ref);
  const client = new RegistryClient(registry, o.auth ?? null);
  const fail = (why: string): never => {
    throw new VerifyError(`${ref}: ${why}`);
  };
  const top = await getManifest(client, repo, reference).catch((err: Error) => fail(err.message));
  if (!top) return fail(`the registry has no manifest ${reference} in ${repo}`);
  const manifests: VerifiedManifest[] = [];
  const check = async (digest: string, platform: string | null, kind: 'index' | 'image') => {
    const where = platform ? `${platform} (${digest})` : digest;
    try {
      const signed = await checkSignature(client, repo, digest, keys);
      if (kind === 'index') {
        manifests.push({ digest, platform, kind, signedBy: signed.key.source, attestations: [] });
        o.log?.(`${where}: index signature verified (${signed.key.source}, ${signed.via})`);
        return;
      }
      const atts = await checkAttestations(client, repo, digest, keys);
      const types = atts.map((a) => a.predicateType);
      let packages: number | undefined;
      if (o.attestations !== false) {
        for (const need of [PREDICATE.provenance, PREDICATE.sbom])
          if (!types.includes(need)) throw new VerifyError(`no signed ${need} attestation`);
        const image = await getManifest(client, repo, digest);
        const parsed = JSON.parse(image!.body.toString('utf8')) as { config?: { digest: string }; layers?: { digest: string }[] };
        const layers = parsed.layers ?? [];
        // The provenance was written for an image id: it must be this manifest's config.
        const prov = atts.find((a) => a.predicateType === PREDICATE.provenance)!;
        if (parsed.config && !prov.statement.subject.some((x) => `sha256:${x.digest?.sha256}` === parsed.config!.digest)) {
          throw new VerifyError(`the provenance is not about this image: no subject is its config ${parsed.config.digest}`);
        }
        const inImage = await packagesInLayers(
          client,
          repo,
          layers.map((l) => l.digest),
        );
        const inSbom = packagesInSbom(atts.find((a) => a.predicateType === PREDICATE.sbom)!.statement.predicate);
        const missing = [...inSbom].filter((p) => !inImage.has(p));
        const extra = [...inImage].filter((p) => !inSbom.has(p));
        if (missing.length || extra.length) {
          throw new VerifyError(
            `the SBOM does not match the package database in the image:${missing.length ? ` in the SBOM only: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''};` : ''}${extra.length ? ` in the image only: ${extra.slice(0, 10).join(', ')}${extra.length > 10 ? ', …' : ''}` : ''}`,
          );
        }
        packages = inSbom.size;
      }
      manifests.push({
        digest,
        platform,
        kind,
        signedBy: signed.key.source,
        attestations: types,
        ...(packages !== undefined ? { packages } : {}),
      });
      o.log?.(
        `${where}: signature verified (${signed.key.source}, ${signed.via}); attestations ${types.join(', ') || 'none'}${packages !== undefined ? `; SBOM = package database (${packages} packages)` : ''}`,
      );
    } catch (err) {
      if (err instanceof VerifyError) fail(`${where}: ${err.message}`);
      throw err;
    }
  };
  const parsed = JSON.parse(top.body.toString('utf8')) as {
    manifests?: { digest: string; platform?: { os: string; architecture: string; variant?: string } }[];
  };
  if (Array.isArray(parsed.manifests)) {
    await check(top.digest, null, 'index');
    for (const m of parsed.manifests) {
      const p = m.platform;
      // Attestation manifests some builders list with platform unknown/unknown are not images.
      if (p?.os === 'unknown') continue;
      await check(m.digest, p ? `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}` : m.digest, 'image');
    }
  } else {
    await check(top.digest, null, 'image');
  }
  return { ref, digest: top.digest, manifests };
}

/** `host[:port]/repo[:tag|@digest]` into its parts; a UsageError when it has no registry. */
function parseRef(ref: string): { registry: string; repo: string; reference: string } {
  const at = ref.indexOf('@');
  const [name, digest] = at >= 0 ? [ref.slice(0, at), ref.slice(at + 1)] : [ref, null];
  const slash = name.indexOf('/');
  const host = slash > 0 ? name.slice(0, slash) : '';
  if (!host || !/[.:]|^localhost$/.test(host))
    throw new ImgsdkError('USAGE', `verify: "${ref}" names no registry (host[:port]/repository[:tag|@sha256:…])`);
  let repo = name.slice(slash + 1);
  let reference = digest ?? 'latest';
  if (!digest) {
    const colon = repo.lastIndexOf(':');
    if (colon > 0) [repo, reference] = [repo.slice(0, colon), repo.slice(colon + 1)];
  }
  if (digest && !/^sha256:[0-9a-f]{64}$/.test(digest)) throw new ImgsdkError('USAGE', `verify: "${digest}" is not a sha256 digest`);
  return { registry: host, repo, reference };
}
