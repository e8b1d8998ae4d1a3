/**
 * The keep-alive connection pools one destination uses, and how axios is
 * told about a proxy.
 *
 * - No proxy: a keep-alive http.Agent / https.Agent (the https one carries
 *   the destination's CA, client certificate, server name and verification).
 * - https target through a proxy: a CONNECT tunnel (https-proxy-agent), then
 *   TLS to the receiver inside it with the destination's TLS options and the
 *   certificate checked against the receiver's name, not the proxy's.
 * - http target through a proxy: an ordinary forward-proxy request
 *   (absolute URL in the request line) made by axios, because many proxies
 *   only allow CONNECT to port 443. A TLS connection to an https:// proxy
 *   uses Node's default trust store (add a private CA with NODE_EXTRA_CA_CERTS).
 * axios's own proxy handling is otherwise switched off (`proxy: false`), so
 * it never reads the environment itself: proxy-selection.ts decides.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { checkServerIdentity, type ConnectionOptions } from 'node:tls';
import type { AxiosProxyConfig } from 'axios';
import { HttpsProxyAgent } from 'https-proxy-agent';
import type { OriginTlsOptions } from './tls-material';

export interface ConnectionAgents {
  httpAgent: http.Agent;
  httpsAgent: http.Agent;
  /** What to pass as axios's `proxy`: false, or the forward proxy for an http target. */
  axiosProxy: AxiosProxyConfig | false;
  destroy(): void;
}

type TunnelConnectOptions = Parameters<HttpsProxyAgent<string>['connect']>[1];

/** CONNECT tunnel whose inner TLS session uses the destination's TLS options. */
class ReceiverTlsTunnelAgent extends HttpsProxyAgent<string> {
  constructor(
    proxy: URL,
    private readonly receiverTls: OriginTlsOptions,
  ) {
    super(proxy, { keepAlive: true });
  }

  override connect(req: http.ClientRequest, opts: TunnelConnectOptions): ReturnType<HttpsProxyAgent<string>['connect']> {
    if (!opts.secureEndpoint) return super.connect(req, opts);
    const receiverHost = opts.host ?? '';
    const verifyName = this.receiverTls.servername ?? receiverHost;
    const tlsOptions: ConnectionOptions = {
      rejectUnauthorized: this.receiverTls.rejectUnauthorized,
      // The tunnelled socket's own host is the proxy's: check the receiver's name explicitly.
      checkServerIdentity: (_name, cert) => checkServerIdentity(verifyName, cert),
    };
    if (this.receiverTls.ca !== undefined) tlsOptions.ca = this.receiverTls.ca;
    if (this.receiverTls.cert !== undefined) tlsOptions.cert = this.receiverTls.cert;
    if (this.receiverTls.key !== undefined) tlsOptions.key = this.receiverTls.key;
    if (this.receiverTls.servername !== undefined) tlsOptions.servername = this.receiverTls.servername;
    return super.connect(req, { ...opts, ...tlsOptions } as TunnelConnectOptions);
  }
}

function directHttpsAgent(receiverTls: OriginTlsOptions): https.Agent {
  const options: https.AgentOptions = { keepAlive: true, rejectUnauthorized: receiverTls.rejectUnauthorized };
  if (receiverTls.ca !== undefined) options.ca = receiverTls.ca;
  if (receiverTls.cert !== undefined) options.cert = receiverTls.cert;
  if (receiverTls.key !== undefined) options.key = receiverTls.key;
  if (receiverTls.servername !== undefined) options.servername = receiverTls.servername;
  return new https.Agent(options);
}

function forwardProxyConfig(proxy: URL): AxiosProxyConfig {
  const config: AxiosProxyConfig = {
    protocol: proxy.protocol.replace(/:$/, ''),
    host: proxy.hostname.replace(/^\[|\]$/g, ''),
    port: proxy.port !== '' ? Number(proxy.port) : proxy.protocol === 'https:' ? 443 : 80,
  };
  if (proxy.username !== '' || proxy.password !== '') {
    config.auth = { username: decodeURIComponent(proxy.username), password: decodeURIComponent(proxy.password) };
  }
  return config;
}

export function createConnectionAgents(target: URL, receiverTls: OriginTlsOptions, proxy: URL | undefined): ConnectionAgents {
  const httpAgent = new http.Agent({ keepAlive: true });
  let httpsAgent: http.Agent;
  let axiosProxy: AxiosProxyConfig | false = false;
  if (proxy === undefined) {
    httpsAgent = directHttpsAgent(receiverTls);
  } else if (target.protocol === 'https:') {
    httpsAgent = new ReceiverTlsTunnelAgent(proxy, receiverTls);
  } else {
    // http target: axios sends the request to the proxy; an https:// proxy
    // is reached with this agent (default trust store).
    httpsAgent = new https.Agent({ keepAlive: true });
    axiosProxy = forwardProxyConfig(proxy);
  }
  return {
    httpAgent,
    httpsAgent,
    axiosProxy,
    destroy(): void {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
