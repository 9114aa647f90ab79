import { app, deploy } from '../src';
import { serverImage } from '../corpus/servers-run';
import { SERVERS, serverName } from '../corpus/servers';
(async () => {
  const names = process.argv.slice(2);
  const imgs = SERVERS.filter((e) => names.includes(serverName(e))).map((e) => serverImage(e));
  const r = await deploy(app(...imgs), { stateDir: '.imgsdk-corpus', assemblyDir: '.imgsdk-corpus/imgsdk.out2', concurrency: 2, onEvent: (e) => { if (e.type === 'warning') console.log('WARN', e.line); } });
  for (const i of r.images) console.log(i.id, i.status, i.size, i.status === 'failed' ? i.reason : '');
})();
