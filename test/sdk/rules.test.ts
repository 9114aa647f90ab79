/**
 * Each cross-image rule of sdk/rules.ts on its own: an image that breaks it is
 * reported with the rule's message, and one that keeps it is not.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { debian, gentoo } from '../../src/sdk/builder';
import { image, type Image } from '../../src/sdk/image';
import { Inheritance } from '../../src/sdk/inheritance';
import {
  builderBuildsPlatforms,
  builderMatchesParent,
  copiesMatchPlatforms,
  debianRefusesPortage,
  hasBuilder,
  keywordsPin,
  knownCopySources,
  knownParent,
  packageSpecsFitBuilder,
  platformsMatchParent,
  RULES,
  rootIsMeant,
  userHasAccount,
  type Rule,
} from '../../src/sdk/rules';

const deb = debian.builder('acme/bookworm', { suite: 'bookworm' });
const multi = debian.builder('acme/bookworm-multi', { suite: 'bookworm', platforms: ['linux/amd64', 'linux/arm64'] });
const bob = gentoo.builder('kubler/bob', { stage3: 'amd64-hardened-nomultilib' });
const musl = gentoo.builder('kubler/bob-musl', { stage3: 'amd64-musl-hardened' });

/** What `rule` reports for `img` in an app of `all` (img included): problems and warnings, as text. */
function run(rule: Rule, img: Image, ...others: Image[]): { problems: string[]; warnings: string[] } {
  const view = new Inheritance([img, ...others]);
  const problems: string[] = [];
  const warnings: string[] = [];
  rule(img, { view, problem: (_s, m) => problems.push(m), warning: (_s, m) => warnings.push(m), noteBuilder: () => undefined });
  return { problems, warnings };
}

test('knownParent: a .from() id that no image of the app has is a problem; a known one is not', () => {
  assert.equal(run(knownParent, image('acme/a').from('acme/nope')).problems, [
    'unknown parent "acme/nope": no image with that id in the app',
  ]);
  assert.equal(run(knownParent, image('acme/a').from('acme/base'), image('acme/base').builder(deb)).problems, []);
});

test('knownCopySources: a .copy() from an unknown id is a problem', () => {
  assert.equal(
    run(
      knownCopySources,
      image('acme/a')
        .builder(deb)
        .copy({ from: 'acme/nope', paths: ['/x'] }),
    ).problems,
    ['copy from unknown image "acme/nope"'],
  );
  const src = image('acme/src').builder(deb);
  assert.equal(
    run(
      knownCopySources,
      image('acme/a')
        .builder(deb)
        .copy({ from: src, paths: ['/x'] }),
      src,
    ).problems,
    [],
  );
});

test('hasBuilder: an image whose chain ends at scratch with no builder is a problem; an inherited builder counts, and is noted', () => {
  assert.equal(run(hasBuilder, image('acme/a')).problems, ['no builder: set .builder(...) or inherit one through .from(...)']);
  const base = image('acme/base').builder(deb);
  const noted: string[] = [];
  hasBuilder(image('acme/a').from(base), {
    view: new Inheritance([base]),
    problem: () => assert.unreachable(),
    warning: () => undefined,
    noteBuilder: (b) => noted.push(b.id),
  });
  assert.equal(noted, ['acme/bookworm']);
});

test("builderMatchesParent: a builder of another libc or family than the parent's is a problem; the same family and libc is not", () => {
  const base = image('acme/base').builder(bob);
  assert.match(
    run(builderMatchesParent, image('acme/a').from(base).builder(musl), base).problems.join(),
    /builder kubler\/bob-musl \(gentoo, musl\) does not match the parent acme\/base's builder kubler\/bob \(gentoo, glibc\)/,
  );
  assert.match(run(builderMatchesParent, image('acme/a').from(base).builder(deb), base).problems.join(), /does not match/);
  const twin = gentoo.builder('kubler/bob2', { stage3: 'amd64-hardened-nomultilib' });
  assert.equal(run(builderMatchesParent, image('acme/a').from(base).builder(twin), base).problems, []);
});

test('builderBuildsPlatforms: a platform the builder does not build for is a problem saying what to add', () => {
  assert.match(
    run(builderBuildsPlatforms, image('acme/a').builder(deb).platforms('linux/arm64')).problems.join(),
    /builder acme\/bookworm names no platforms, so it cannot build for linux\/arm64/,
  );
  const amd64 = debian.builder('acme/bookworm-amd64', { suite: 'bookworm', platforms: ['linux/amd64'] });
  assert.match(
    run(builderBuildsPlatforms, image('acme/a').builder(amd64).platforms('linux/arm64')).problems.join(),
    /does not build for linux\/arm64 \(its platforms: linux\/amd64\); add it/,
  );
  assert.equal(run(builderBuildsPlatforms, image('acme/a').builder(multi).platforms('linux/arm64')).problems, []);
});

test('platformsMatchParent: a child built for a platform its parent lacks is a problem', () => {
  const base = image('acme/base').builder(multi).platforms('linux/amd64');
  assert.match(
    run(platformsMatchParent, image('acme/a').from(base).platforms('linux/amd64', 'linux/arm64'), base).problems.join(),
    /the parent has no linux\/arm64/,
  );
  assert.equal(run(platformsMatchParent, image('acme/a').from(base), base).problems, []);
});

test('copiesMatchPlatforms: a .copy() from an image built for other platforms is a problem', () => {
  const src = image('acme/src').builder(deb);
  assert.match(
    run(
      copiesMatchPlatforms,
      image('acme/a')
        .builder(multi)
        .copy({ from: src, paths: ['/x'] }),
      src,
    ).problems.join(),
    /\.copy\(\) across platforms/,
  );
  assert.equal(
    run(
      copiesMatchPlatforms,
      image('acme/a')
        .builder(deb)
        .copy({ from: src, paths: ['/x'] }),
      src,
    ).problems,
    [],
  );
});

test('debianRefusesPortage: Portage-only methods and .download() on a Debian image are a problem each', () => {
  const img = image('acme/a').builder(deb).use('x11').download('https://example.org/f.tgz', 'a'.repeat(64));
  assert.equal(run(debianRefusesPortage, img).problems.length, 2);
  assert.equal(run(debianRefusesPortage, image('acme/a').builder(bob).use('x11')).problems, []);
});

test('packageSpecsFitBuilder: packages are checked as the builder kind names them', () => {
  assert.equal(run(packageSpecsFitBuilder, image('acme/a').builder(deb).packages('Not A Package')).problems.length, 1);
  assert.equal(run(packageSpecsFitBuilder, image('acme/a').builder(bob).packages('not-an-atom')).problems.length, 1);
  assert.equal(run(packageSpecsFitBuilder, image('acme/a').builder(deb).packages('curl')).problems, []);
});

test('keywordsPin: keywords for a version the packages do not select warn (never a problem); a pinned one does not', () => {
  const r = run(keywordsPin, image('acme/a').builder(bob).packages('net-analyzer/nmap').keywords('=net-analyzer/nmap-7.60', '~amd64'));
  assert.equal(r.problems, []);
  assert.match(r.warnings.join(), /does not pin net-analyzer\/nmap/);
  assert.equal(
    run(keywordsPin, image('acme/a').builder(bob).packages('=net-analyzer/nmap-7.60').keywords('=net-analyzer/nmap-7.60', '~amd64'))
      .warnings,
    [],
  );
});

test('rootIsMeant: running as root, or naming root, needs .allowRoot()', () => {
  assert.equal(run(rootIsMeant, image('acme/a').builder(deb).entrypoint('/bin/x')).problems, [
    'runs as root: set .user(...) or call .allowRoot()',
  ]);
  assert.equal(run(rootIsMeant, image('acme/a').builder(deb).user('root')).problems, [
    ".user('root') runs as root: call .allowRoot() to mean it",
  ]);
  assert.equal(run(rootIsMeant, image('acme/a').builder(deb).entrypoint('/bin/x').allowRoot()).problems, []);
  assert.equal(run(rootIsMeant, image('acme/a').builder(deb).entrypoint('/bin/x').user('nobody')).problems, []);
});

test('userHasAccount: a .user() no account declares is a problem unless an install could create it', () => {
  assert.match(run(userHasAccount, image('acme/a').builder(deb).user('web')).problems.join(), /user "web" has no \.account\(\)/);
  assert.equal(run(userHasAccount, image('acme/a').builder(deb).account({ user: 'web', uid: 10001 }).user('web')).problems, []);
  assert.equal(run(userHasAccount, image('acme/a').builder(deb).packages('postgresql').user('postgres')).problems, []);
});

test('RULES holds every rule once, in the order resolveApp reports them', () => {
  const all = [
    knownParent,
    knownCopySources,
    hasBuilder,
    builderMatchesParent,
    builderBuildsPlatforms,
    platformsMatchParent,
    copiesMatchPlatforms,
    debianRefusesPortage,
    packageSpecsFitBuilder,
    keywordsPin,
    rootIsMeant,
    userHasAccount,
  ];
  assert.equal(RULES, all);
});

test.run();
