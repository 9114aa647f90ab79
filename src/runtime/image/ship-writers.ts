/** What shipping writes with, loaded only when there is something to write (ship.ts). */
export { debugConfig, DEBUG_TAG, ensureBusyboxLayer } from './debug';
export { exportDockerArchive, exportOci } from './oci-export';
export { loadArchive } from './phase2';
export { pushAttestation } from './attest';
