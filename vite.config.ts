import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The dashboard is bundled at build time into dist/web, which `serve` hands out from its own
// origin: no CDN, and no inline script (the CSP allows only 'self').
export default defineConfig({
  root: fileURLToPath(new URL('./web', import.meta.url)),
  base: '/',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('./dist/web', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: true,
    // A module preload polyfill would be inlined; every browser the dashboard supports has it.
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 400,
  },
});
