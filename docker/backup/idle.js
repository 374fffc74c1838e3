// Keeps the backup container up so that `lcp-backup` commands can run in it (docker exec).
// Healthy once the CLI's modules have loaded (the HEALTHCHECK looks for the file written then);
// leaves at once on SIGTERM or SIGINT (docker stop).
import { writeFileSync } from 'node:fs';

await import('./dist/cli.js');
writeFileSync('/tmp/lcp-backup-ready', `${new Date().toISOString()}\n`);
console.log('lcp-backup ready: docker exec <container> lcp-backup <command>');
const timer = setInterval(() => undefined, 1 << 30);
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    clearInterval(timer);
    process.exit(0);
  });
}
