import { generateKeyPairSync } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  assertBundle,
  bundleFromJSON,
  bundleToJSON,
  isBundleWithDsseEnvelope,
  isBundleWithMessageSignature,
  isBundleWithPublicKey,
} from '@sigstore/bundle';
import {
  BUNDLE_MEDIA_TYPE,
  PREDICATE,
  readSimpleSigning,
  signMessage,
  signStatement,
  simpleSigningPayload,
  statement,
  verifyBundle,
} from '../../../../src/runtime/image/sign/bundles';
import { keySigner, trustedKeys } from '../../../../src/runtime/image/sign/keys';

const pemPair = () => {
  const p = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    priv: p.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    pub: p.publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
};
const ours = pemPair();
const theirs = pemPair();
const digest = `sha256:${'ab'.repeat(32)}`;

test("an image signature is a v0.3 bundle with a key hint and a message signature over cosign's simple-signing payload", async () => {
  const payload = simpleSigningPayload('127.0.0.1:5000/acme/web', digest);
  assert.equal(readSimpleSigning(payload), { reference: '127.0.0.1:5000/acme/web', digest });
  const { bundle } = await signMessage(await keySigner(ours.priv), payload);
  const json = JSON.parse(bundle);
  assert.is(json.mediaType, BUNDLE_MEDIA_TYPE);
  const parsed = bundleFromJSON(json);
  assertBundle(parsed);
  assert.ok(isBundleWithPublicKey(parsed) && isBundleWithMessageSignature(parsed));
  // The protobuf types round-trip it byte for byte: nothing of ours is outside the schema.
  assert.equal(bundleToJSON(parsed), json);
  const v = verifyBundle(bundle, await trustedKeys([ours.pub]), payload);
  assert.is(v.key.hint, (await trustedKeys([ours.pub]))[0].hint);
});

test('a message signature fails for another payload and for a key that is not trusted, saying which', async () => {
  const payload = simpleSigningPayload('r/acme/web', digest);
  const { bundle } = await signMessage(await keySigner(ours.priv), payload);
  const [ourKeys, theirKeys] = [await trustedKeys([ours.pub]), await trustedKeys([theirs.pub])];
  assert.throws(() => verifyBundle(bundle, ourKeys, simpleSigningPayload('r/acme/web', `sha256:${'cd'.repeat(32)}`)), /does not verify/);
  assert.throws(() => verifyBundle(bundle, theirKeys, payload), /which is not trusted/);
});

test("an attestation is an in-toto statement in a DSSE envelope, verified by Sigstore's verifier; a changed payload fails", async () => {
  const stmt = statement([{ name: 'r/acme/web', digest }], PREDICATE.sbom, { spdxVersion: 'SPDX-2.3' });
  const bundle = await signStatement(await keySigner(ours.priv), stmt);
  const parsed = bundleFromJSON(JSON.parse(bundle));
  assertBundle(parsed);
  assert.ok(isBundleWithDsseEnvelope(parsed) && isBundleWithPublicKey(parsed));
  assert.is(parsed.content.dsseEnvelope.payloadType, 'application/vnd.in-toto+json');
  const v = verifyBundle(bundle, await trustedKeys([theirs.pub, ours.pub]));
  const s = JSON.parse(v.payload!.toString('utf8'));
  assert.is(s._type, 'https://in-toto.io/Statement/v1');
  assert.is(s.predicateType, PREDICATE.sbom);
  assert.equal(s.subject, [{ name: 'r/acme/web', digest: { sha256: 'ab'.repeat(32) } }]);

  const tampered = JSON.parse(bundle);
  tampered.dsseEnvelope.payload = Buffer.from(JSON.stringify({ ...s, predicate: { spdxVersion: 'forged' } })).toString('base64');
  const ourKeys = await trustedKeys([ours.pub]);
  assert.throws(() => verifyBundle(JSON.stringify(tampered), ourKeys), /does not verify/);
});

test('what is not a bundle is named as such', async () => {
  const ourKeys = await trustedKeys([ours.pub]);
  assert.throws(() => verifyBundle('{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}', ourKeys), /not a Sigstore bundle/);
});

test.run();
