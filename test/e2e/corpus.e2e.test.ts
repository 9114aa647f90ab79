/**
 * The representative part of the package corpus (corpus/packages.ts, CI_SUBSET):
 * each package built from just its name must do what it does in a plain Debian
 * container. `npm run corpus` runs all of it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CI_SUBSET, CORPUS } from '../../corpus/packages';
import { corpusImage, formatResults, runCorpus } from '../../corpus/run';
import { engineOrSkip } from '../_kit/engine';
import { removeImages, tempDir } from './_app';

test('every package of the CI part of the corpus gives a working image', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const state = tempDir('imgsdk-corpus-');
  const entries = CORPUS.filter((e) => CI_SUBSET.includes(e.package));
  try {
    assert.is(entries.length, CI_SUBSET.length, 'every CI_SUBSET name is a corpus entry');
    const results = await runCorpus(entries, { docker, stateDir: state.dir });
    console.log(formatResults(results));
    assert.equal(
      results.filter((r) => !r.ok).map((r) => `${r.package}: ${r.why}`),
      [],
    );
  } finally {
    await removeImages(
      docker,
      entries.map((e) => corpusImage(e).id),
    );
    state.remove();
  }
});

test.run();
