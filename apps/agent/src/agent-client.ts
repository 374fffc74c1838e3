// What a local application (Alice's media player, a storage node) uses to talk to the agent.
import http from 'node:http';

export interface AgentClientOptions {
  /** The agent's local interface, e.g. http://127.0.0.1:7468 */
  url: string;
  /** This application's token. */
  token: string;
  timeoutMs?: number;
}

export interface PaymentOrder {
  to: string;
  /** Decimal, e.g. "1.5". */
  amount: string;
  /** The issuer's WSDL URL. */
  currency: string;
  transactionId: string;
  userid?: string;
}

/** The agent refused with a problem document; `code` is its stable code. */
export class AgentProblemError extends Error {
  override name = 'AgentProblemError';
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class AgentClient {
  constructor(readonly options: AgentClientOptions) {}

  identity(): Promise<{ entityId: string }> {
    return this.#call('GET', '/v1/identity') as Promise<{ entityId: string }>;
  }

  /** `traceparent` puts the payment in the caller's W3C trace (the agent passes it to the issuer). */
  pay(order: PaymentOrder, traceparent?: string): Promise<{ result: string; fee: string }> {
    return this.#call('POST', '/v1/payments', order, 0, traceparent) as Promise<{ result: string; fee: string }>;
  }

  /** The deposit, or undefined when none arrived within `waitMs`. */
  async deposit(transactionId: string, currency: string, waitMs = 0): Promise<{ transactionId: string; amount: string; currency: string } | undefined> {
    const query = new URLSearchParams({ currency, wait: String(waitMs) });
    try {
      return (await this.#call('GET', `/v1/deposits/${encodeURIComponent(transactionId)}?${query}`, undefined, waitMs)) as {
        transactionId: string;
        amount: string;
        currency: string;
      };
    } catch (error) {
      if (error instanceof AgentProblemError && error.code === 'depositNotFound') return undefined;
      throw error;
    }
  }

  balances(): Promise<{ balances: { currency: string; scale: number; balance?: string; error?: string }[] }> {
    return this.#call('GET', '/v1/balances') as Promise<{ balances: { currency: string; scale: number; balance?: string; error?: string }[] }>;
  }

  limits(): Promise<unknown> {
    return this.#call('GET', '/v1/limits');
  }

  #call(method: string, path: string, body?: unknown, waitMs = 0, traceparent?: string): Promise<unknown> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const request = http.request(
        new URL(path, this.options.url),
        {
          method,
          agent: false,
          timeout: waitMs + (this.options.timeoutMs ?? 30_000),
          headers: {
            authorization: `Bearer ${this.options.token}`,
            accept: 'application/json',
            ...(traceparent ? { traceparent } : {}),
            ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            let parsed: unknown;
            try {
              parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              parsed = undefined;
            }
            if (response.statusCode === 200) return resolve(parsed);
            const problem = (parsed ?? {}) as { code?: string; title?: string; detail?: string };
            reject(new AgentProblemError(problem.code ?? `http${response.statusCode}`, response.statusCode ?? 0, problem.detail ?? problem.title ?? 'refused'));
          });
          response.on('error', reject);
        },
      );
      request.on('timeout', () => request.destroy(new Error('the agent did not answer in time')));
      request.on('error', reject);
      request.end(payload);
    });
  }
}
