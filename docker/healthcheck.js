// The images' HEALTHCHECK: GET $LCP_HEALTH_URL (http or https) answers 2xx within 3 s.
// The certificate is not checked: this asks the server in the same container if it is up.
import http from 'node:http';
import https from 'node:https';

const url = new URL(process.env.LCP_HEALTH_URL ?? 'http://127.0.0.1/healthz');
const get = url.protocol === 'https:' ? https.get : http.get;
const request = get(url, { rejectUnauthorized: false, timeout: 3000 }, (res) => {
  res.resume();
  process.exit(res.statusCode >= 200 && res.statusCode < 300 ? 0 : 1);
});
request.on('timeout', () => request.destroy());
request.on('error', () => process.exit(1));
