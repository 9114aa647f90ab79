/** The version of this imgsdk (the CLI's --version), without loading the rest. */
export { SDK_VERSION } from '../contract/version';
