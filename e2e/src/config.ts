// The suite's settings from the environment (the one place it is read).
//   LCP_E2E_LINGER=1   leave the containers running after the run, to look at them
// testcontainers here: Ryuk's image cannot be pulled without a registry, and the engine is local.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= 'localhost';

export const LINGER = Boolean(process.env.LCP_E2E_LINGER);
/** LCP_E2E_IMAGES=reuse: skip rebuilding the app images (when iterating on the suite itself). */
export const REUSE_IMAGES = process.env.LCP_E2E_IMAGES === 'reuse';
/** The environment for the image scripts: turbo has built every dist/ before the suite runs. */
export const SCRIPT_ENV = { ...process.env, LCP_DIST_BUILT: '1' };
