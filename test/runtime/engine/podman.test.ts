import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { engineKindOf, familiarName, loadedNames, podmanChange } from '../../../src/runtime/engine/docker';

test('the engine kind comes from the version answer: a Podman Engine component is Podman, anything else Docker', () => {
  // As Podman 4.3's Docker-compatible service answers /version.
  assert.is(engineKindOf({ Components: [{ Name: 'Podman Engine' }, { Name: 'Conmon' }, { Name: 'OCI Runtime (runc)' }] }), 'podman');
  assert.is(engineKindOf({ Components: [{ Name: 'Engine' }, { Name: 'containerd' }, { Name: 'runc' }] }), 'docker');
  assert.is(engineKindOf({}), 'docker');
  assert.is(engineKindOf({ Components: null }), 'docker');
});

test('names come back as Docker spells them: no docker.io/, docker.io/library/ or localhost/ prefix; other registries kept', () => {
  assert.is(familiarName('docker.io/imgsdk-builder/imgsdk-bookworm:98703e27ec14'), 'imgsdk-builder/imgsdk-bookworm:98703e27ec14');
  assert.is(familiarName('localhost/imgsdk/nginx:latest'), 'imgsdk/nginx:latest');
  assert.is(familiarName('docker.io/library/debian:12'), 'debian:12');
  assert.is(familiarName('localhost:5000/imgsdk/nginx:latest'), 'localhost:5000/imgsdk/nginx:latest');
  assert.is(familiarName('registry.example.com/a/b:1'), 'registry.example.com/a/b:1');
});

test("a load's names are read from Docker's one line per image and from Podman's one line for all", () => {
  assert.equal(loadedNames([{ stream: 'Loaded image: imgsdk/nginx:latest\n' }, { stream: 'Loaded image: imgsdk/nginx:580221ffd9ae\n' }]), [
    'imgsdk/nginx:latest',
    'imgsdk/nginx:580221ffd9ae',
  ]);
  assert.equal(loadedNames([{ stream: 'Loaded image ID: sha256:abc\n' }]), ['sha256:abc']);
  assert.equal(loadedNames([{ stream: 'Loaded image(s): localhost/imgsdk/nginx:latest,localhost/imgsdk/nginx:580221ffd9ae\n' }]), [
    'imgsdk/nginx:latest',
    'imgsdk/nginx:580221ffd9ae',
  ]);
  assert.equal(loadedNames([{ status: 'Loading layer' }]), []);
});

test('a LABEL change with several pairs becomes one LABEL per pair for Podman, each value quoted once; other changes stay as written', () => {
  assert.equal(podmanChange('LABEL org.imgsdk="1" org.imgsdk.builder="imgsdk/bookworm" org.imgsdk.key="ab12"'), [
    'LABEL org.imgsdk="1"',
    'LABEL org.imgsdk.builder="imgsdk/bookworm"',
    'LABEL org.imgsdk.key="ab12"',
  ]);
  assert.equal(podmanChange('LABEL a=b note="two words"'), ['LABEL a="b"', 'LABEL note="two words"']);
  assert.equal(podmanChange('LABEL a="say \\"hi\\""'), ['LABEL a="say "hi""']);
  assert.equal(podmanChange('ENV PATH=/usr/bin:/bin'), ['ENV PATH=/usr/bin:/bin']);
  assert.equal(podmanChange('CMD ["/bin/sh"]'), ['CMD ["/bin/sh"]']);
  // Not key=value pairs: left for the engine to judge.
  assert.equal(podmanChange('LABEL key value'), ['LABEL key value']);
});

test.run();
