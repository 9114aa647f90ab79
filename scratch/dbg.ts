import { app, deploy } from '../src';
import { corpusImage } from '../corpus/run';
import { CORPUS } from '../corpus/packages';
(async () => {
  const names = process.argv.slice(2);
  const imgs = CORPUS.filter((e) => names.includes(e.package)).map(corpusImage);
  const r = await deploy(app(...imgs), { stateDir: '.imgsdk-corpus', assemblyDir: '.imgsdk-corpus/imgsdk.out', concurrency: 1, onEvent: (e) => { if (e.type === 'warning') console.log('WARN', e.line); } });
  for (const i of r.images) console.log(i.id, i.status, i.size, i.status === 'failed' ? i.reason : '');
})();
