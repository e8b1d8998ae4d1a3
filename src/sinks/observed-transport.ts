import type { HttpTransport } from '../http/http-transport';
import type { OutcomeRecord } from '../status/outcome-record';

/**
 * The transport, with every answer noted in `record` for the status page:
 * a 2xx as a success, any other status or a network error as a failure
 * (its status, or code, and the receiver's words, which the transport has
 * already cleared of known secrets). Requests cut short by a shutdown are
 * not failures.
 */
export function observeTransport(transport: HttpTransport, record: OutcomeRecord<{ status: number | null }>): HttpTransport {
  return {
    async send(req, signal) {
      const outcome = await transport.send(req, signal);
      if (outcome.kind === 'response') {
        if (outcome.status >= 200 && outcome.status <= 299) record.succeeded();
        else record.failed(`HTTP ${outcome.status}${outcome.bodyPreview.trim() === '' ? '' : `: ${outcome.bodyPreview}`}`, { status: outcome.status });
      } else if (outcome.code !== 'ABORTED' && outcome.code !== 'ECLOSED') {
        record.failed(`${outcome.code}: ${outcome.message}`, { status: null });
      }
      return outcome;
    },
    close: () => transport.close(),
  };
}
