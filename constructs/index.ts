/**
 * @imgsdk/apps: images for a user's own app on a Debian runtime, as imgsdk values.
 * Each construct returns an ordinary `Image`, so anything it sets can be changed by
 * chaining more calls (`.user()`, `.env()`, `.packages()`, `.init(false)`).
 */
export * from './src/common';
export * from './src/node';
export * from './src/python';
export * from './src/static-site';
export * from './src/jvm';
export * from './src/binary';
