// The MTA behind the gateway (Postfix): accepted mail is handed to it with nodemailer, over a
// small pool of kept-open SMTP connections, envelope and bytes exactly as decided.
import nodemailer, { type Transporter } from 'nodemailer';
import type { Envelope } from './postage-desk.js';

export interface RelayOptions {
  host: string;
  port: number;
  connections: number;
  /** The name the gateway gives in EHLO. */
  name: string;
}

export class RelayError extends Error {
  override name = 'RelayError';
  constructor(
    message: string,
    /** The downstream refused the message for good (5xx), as opposed to "try later". */
    readonly permanent: boolean,
    /** The downstream answered with a refusal (4xx or 5xx), so it did not take the message; false: no answer, it may have. */
    readonly refused = permanent,
  ) {
    super(message);
  }
}

export class Relay {
  readonly #transport: Transporter;

  constructor(options: RelayOptions) {
    this.#transport = nodemailer.createTransport({
      host: options.host,
      port: options.port,
      name: options.name,
      secure: false,
      pool: true,
      maxConnections: options.connections,
      maxMessages: Infinity,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 60_000,
    });
  }

  async send(envelope: Envelope, raw: Buffer): Promise<string> {
    try {
      const info = await this.#transport.sendMail({ envelope: { from: envelope.sender, to: envelope.recipients }, raw });
      return String(info.response ?? '');
    } catch (error) {
      const code = (error as { responseCode?: number }).responseCode;
      throw new RelayError((error as Error).message, code !== undefined && code >= 500, code !== undefined);
    }
  }

  close(): void {
    this.#transport.close();
  }
}
