import type { ProxyFailure } from './client.js';

/** One line for a failed proxy call: "connection refused", "500 litellm.BadRequestError: …". */
export function failureText(f: ProxyFailure): string {
  switch (f.kind) {
    case 'down':
    case 'timeout':
    case 'bad-response':
      return f.detail;
    case 'unauthorized':
    case 'http':
      return `${f.status} ${f.message}`;
  }
}
