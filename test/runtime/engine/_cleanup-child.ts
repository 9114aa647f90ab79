/**
 * Child process of the cleanup test: registers one live "container" whose removal
 * writes a file, says so, and waits for a signal. Usage: _cleanup-child.ts <marker-file>
 */
import { writeFileSync } from 'node:fs';
import { trackContainer } from '../../../src/runtime/engine/cleanup';

const [marker] = process.argv.slice(2);
trackContainer('imgsdk-test-container', async () => writeFileSync(marker, 'removed'));
process.stdout.write('ready\n');
setInterval(() => undefined, 1000);
