// Builds dist/demo and dist/console, the pages livepushd serves from memory (server.web_root,
// docs/console.md): each is index.html, one script bundle (the page and livepush-client from
// ../src, or uPlot for the console) and one stylesheet. Nothing is fetched from elsewhere at
// run time, so the pages work under the node's Content-Security-Policy (self only).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync, statSync } from 'node:fs';

const common = { bundle: true, minify: true, target: 'es2020', logLevel: 'warning', legalComments: 'none' };
rmSync('dist', { recursive: true, force: true });
for (const page of ['demo', 'console']) {
  mkdirSync(`dist/${page}`, { recursive: true });
  await build({ ...common, entryPoints: [`${page}/${page}.ts`], format: 'iife', outfile: `dist/${page}/${page}.js` });
  await build({ ...common, entryPoints: [`${page}/${page}.css`], outfile: `dist/${page}/${page}.css` });
  copyFileSync(`${page}/index.html`, `dist/${page}/index.html`);
  const sizes = ['index.html', `${page}.js`, `${page}.css`].map((f) => `${f} ${statSync(`dist/${page}/${f}`).size}`);
  console.log(`dist/${page}: ${sizes.join(', ')} bytes`);
}
