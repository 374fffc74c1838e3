// Once per run: a Docker engine, the base images and the app images (lcp/<app>:dev), made by the
// project's own scripts, so every test reuses the same images. turbo has built every dist/
// before this runs (the e2e test task depends on the apps' builds).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { REUSE_IMAGES, SCRIPT_ENV } from './config.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

export default function setup(): void {
  // every app image, then the service images the suites use (Postfix, behind the mail gateway)
  const builds = [['docker/build-images.sh'], ['docker/build-images.sh', 'postfix']];
  const scripts = [['docker/engine.sh'], ['docker/base-images.sh'], ...(REUSE_IMAGES ? [] : builds)];
  for (const args of scripts) execFileSync('sh', args, { cwd: root, stdio: 'inherit', env: SCRIPT_ENV });
}
