// Build of the PWA. The manifest has one source, ./manifest.webmanifest (read here and handed to
// vite-plugin-pwa, which writes it to dist/ and links it from index.html). The service worker
// precaches the app shell; it never touches the robot's API, video or WebSocket.
import { readFileSync } from 'node:fs';
import { defineConfig } from 'vite';
import { VitePWA, type ManifestOptions } from 'vite-plugin-pwa';

const manifest = JSON.parse(readFileSync(new URL('./manifest.webmanifest', import.meta.url), 'utf8')) as Partial<ManifestOptions>;

/** Robot routes the service worker must leave to the network (see docs/API_REFERENCE.md); /ca.crt is a download, not a page. */
const API = /^\/(ws|video|system_status|motor|tts|config|auth|health|server|api|ca\.crt)(\/|$|\?)/;

export default defineConfig({
  base: '/',
  build: { target: 'es2022', sourcemap: false, assetsInlineLimit: 0 },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
  plugins: [
    VitePWA({
      registerType: 'prompt',
      // main.ts registers with workbox-window itself, after first paint.
      injectRegister: false,
      manifestFilename: 'manifest.webmanifest',
      manifest,
      includeAssets: ['icons/*.png'],
      workbox: {
        globPatterns: ['**/*.{js,css,html,png,webmanifest}'],
        navigateFallback: '/index.html',
        navigateFallbackDenylist: [API],
        cleanupOutdatedCaches: true,
        // No clientsClaim/skipWaiting: a new version waits until the operator accepts it.
      },
    }),
  ],
});
