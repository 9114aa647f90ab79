/**
 * Child process of the SIGINT test: runs a long container and says its name,
 * then waits to be interrupted. Usage: _sigint-child.ts <image> <run-label-value>
 */
import Docker from 'dockerode';
import { engineFromDocker } from '../../../src/runtime/engine/docker';

const [image, nonce] = process.argv.slice(2);
const engine = engineFromDocker(new Docker());

void engine.withContainer({ image, cmd: ['sleep', '300'], labels: { 'org.imgsdk.test-run': nonce } }, async (c) => {
  await c.start();
  process.stdout.write(`running ${c.name}\n`);
  return c.wait();
});
