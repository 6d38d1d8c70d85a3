// Builds dist/: ESM and CJS bundles of src/index.ts, the minified browser IIFE (global
// LivePush) from src/iife.ts, and prints the IIFE's min+gzip size. Declarations come from tsc
// (npm run build runs both).
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const common = { bundle: true, target: 'es2020', logLevel: 'warning', legalComments: 'none' };
await Promise.all([
  build({ ...common, entryPoints: ['src/index.ts'], format: 'esm', outfile: 'dist/esm/index.js', sourcemap: true }),
  build({ ...common, entryPoints: ['src/index.ts'], format: 'cjs', outfile: 'dist/cjs/index.cjs', sourcemap: true }),
  build({ ...common, entryPoints: ['src/iife.ts'], format: 'iife', minify: true, outfile: 'dist/livepush.iife.js' }),
]);
const iife = readFileSync('dist/livepush.iife.js');
console.log(`dist/livepush.iife.js: ${iife.length} bytes minified, ${gzipSync(iife, { level: 9 }).length} bytes min+gzip`);
