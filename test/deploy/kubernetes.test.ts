/**
 * deploy/kubernetes/: every manifest parses (multi-document YAML), and the
 * pieces fit together: the sidecar's probes, resources, credentials file,
 * queue volume and security context; the Secret it mounts; the Service,
 * ServiceMonitor and PodMonitor that find its port. Read, not applied: no
 * cluster here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAllDocuments } from 'yaml';
import { allSettings, findSetting } from '../../src/config/scopes';
import { byteSize, durationMs } from '../../src/config/value-parsers';
import { ROOT } from '../helpers/shipping';

const DIR = join(ROOT, 'deploy', 'kubernetes');
const ADAPTER = 'jvb-prometheus-adapter';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = Record<string, any>;

interface Loaded {
  readonly file: string;
  readonly doc: Doc;
}

function loadAll(): Loaded[] {
  const files = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));
  assert.ok(files.length >= 4, `manifests in ${DIR}: ${files.join(', ')}`);
  return files.flatMap((file) => {
    const parsed = [...parseAllDocuments(readFileSync(join(DIR, file), 'utf8'))];
    assert.ok(parsed.length > 0, `${file} holds a document`);
    return parsed.map((d, i) => {
      assert.equal(d.errors.map((e) => e.message), [], `${file} document ${i + 1} parses`);
      assert.equal(d.warnings.map((e) => e.message), [], `${file} document ${i + 1}: no warnings`);
      return { file, doc: d.toJS() as Doc };
    });
  });
}

/** The value at a dotted path (numbers index arrays); throws naming the path when it is missing. */
function at(doc: unknown, path: string): any {
  let value: any = doc;
  for (const key of path.split('.')) {
    if (value === null || value === undefined || !(key in Object(value))) throw new Error(`missing ${path} (at ${key})`);
    value = value[key];
  }
  return value;
}

/** Kubernetes quantities (1Gi, 512Mi, 250m) as bytes or cores. */
function quantity(text: string | number): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|m)?$/.exec(String(text));
  assert.ok(match, `quantity ${text}`);
  const factor = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, m: 1e-3 }[match![2] as 'Ki'] ?? 1;
  return Number(match![1]) * factor;
}

// Loaded once; a failure is thrown in each test (not at import, which would stop the whole run).
const loaded = (() => {
  try {
    return { docs: loadAll() };
  } catch (error) {
    return { error };
  }
})();
function allDocs(): Loaded[] {
  if ('error' in loaded) throw loaded.error;
  return loaded.docs;
}
const ofKind = (kind: string) => allDocs().filter((d) => d.doc['kind'] === kind);
const one = (kind: string) => {
  const found = ofKind(kind);
  assert.is(found.length, 1, `one ${kind}`);
  return found[0]!.doc;
};

const k8s = suite('Kubernetes manifests (deploy/kubernetes)');

k8s('every document parses and names its apiVersion, kind, name and namespace', () => {
  const docs = allDocs();
  for (const { file, doc } of docs) {
    for (const path of ['apiVersion', 'kind', 'metadata.name', 'metadata.namespace']) assert.ok(at(doc, path), `${file}: ${path}`);
  }
  assert.equal([...new Set(docs.map((d) => d.doc['kind']))].sort(), ['Deployment', 'PodMonitor', 'Secret', 'Service', 'ServiceMonitor']);
});

k8s('the JVB Deployment: the jvb container plus the adapter, polling it on localhost', () => {
  const deployment = one('Deployment');
  const containers = at(deployment, 'spec.template.spec.containers') as Doc[];
  assert.equal(containers.map((c) => c['name']), ['jvb', ADAPTER]);
  assert.match(at(containers[0], 'image'), /^jitsi\/jvb:/);
  const env = at(containers[1], 'env') as Doc[];
  assert.is(env.find((e) => e['name'] === 'JVB_ADAPTER_JVB_URL')?.['value'], 'http://localhost:8080');
  assert.is(env.find((e) => e['name'] === 'JVB_ADAPTER_JVB_NAME')?.['valueFrom']?.['fieldRef']?.['fieldPath'], 'metadata.name');
  // Only settings the agent knows (NODE_OPTIONS aside).
  const known = new Set([
    ...allSettings().map((entry) => entry.env[0]!),
    'NODE_OPTIONS',
  ]);
  for (const { name } of env as Array<{ name: string }>) assert.ok(known.has(name), `${name} is a setting of the agent`);
  assert.equal(at(deployment, 'spec.selector.matchLabels'), { 'app.kubernetes.io/name': 'jvb' });
  for (const [label, value] of Object.entries(at(deployment, 'spec.selector.matchLabels') as Record<string, string>)) {
    assert.is(at(deployment, 'spec.template.metadata.labels')[label], value);
  }
});

k8s('the adapter: probes on /-/healthy (liveness) and /-/ready (readiness) at its metrics port, requests and limits, a stop grace above the flush deadline', () => {
  const pod = at(one('Deployment'), 'spec.template.spec');
  const adapter = (at(pod, 'containers') as Doc[]).find((c) => c['name'] === ADAPTER)!;
  const port = (at(adapter, 'ports') as Doc[]).find((p) => p['name'] === 'metrics')!;
  assert.is(at(port, 'containerPort'), 9001);
  assert.is(at(adapter, 'livenessProbe.httpGet.path'), '/-/healthy');
  assert.is(at(adapter, 'livenessProbe.httpGet.port'), 'metrics');
  assert.is(at(adapter, 'readinessProbe.httpGet.path'), '/-/ready');
  assert.is(at(adapter, 'readinessProbe.httpGet.port'), 'metrics');
  assert.ok(quantity(at(adapter, 'resources.requests.cpu')) > 0);
  assert.ok(quantity(at(adapter, 'resources.requests.memory')) > 0);
  assert.ok(quantity(at(adapter, 'resources.limits.cpu')) >= quantity(at(adapter, 'resources.requests.cpu')));
  const memoryLimit = quantity(at(adapter, 'resources.limits.memory'));
  assert.ok(memoryLimit >= quantity(at(adapter, 'resources.requests.memory')));
  const heap = /--max-old-space-size=(\d+)/.exec((at(adapter, 'env') as Doc[]).find((e) => e['name'] === 'NODE_OPTIONS')?.['value'] ?? '');
  assert.ok(heap && Number(heap[1]) * 2 ** 20 < memoryLimit * 0.75, "V8's heap fits in the memory limit with room to spare");
  const flush = durationMs.parse(findSetting('storage.flush-deadline')!.spec.default!)!;
  assert.ok(at(pod, 'terminationGracePeriodSeconds') * 1000 >= flush + 10_000, 'terminationGracePeriodSeconds leaves the flush deadline and a margin');
});

k8s('remote-write credentials: a Secret mounted as a file, JVB_ADAPTER_REMOTE_WRITE_PASSWORD_FILE pointing at it, readable by the adapter only through its group', () => {
  const pod = at(one('Deployment'), 'spec.template.spec');
  const adapter = (at(pod, 'containers') as Doc[]).find((c) => c['name'] === ADAPTER)!;
  const env = at(adapter, 'env') as Doc[];
  const file = env.find((e) => e['name'] === 'JVB_ADAPTER_REMOTE_WRITE_PASSWORD_FILE')?.['value'] as string;
  assert.ok(file, 'JVB_ADAPTER_REMOTE_WRITE_PASSWORD_FILE is set');
  assert.not.ok(env.some((e) => e['name'] === 'JVB_ADAPTER_REMOTE_WRITE_PASSWORD'), 'the password is not in the environment');
  const mount = (at(adapter, 'volumeMounts') as Doc[]).find((m) => file.startsWith(`${m['mountPath']}/`))!;
  assert.ok(mount, `a volume is mounted above ${file}`);
  assert.is(mount['readOnly'], true);
  const volume = (at(pod, 'volumes') as Doc[]).find((v) => v['name'] === mount['name'])!;
  const secretName = at(volume, 'secret.secretName');
  const item = (at(volume, 'secret.items') as Doc[]).find((i) => `${mount['mountPath']}/${i['path']}` === file)!;
  assert.ok(item, `${file} is an item of the secret volume`);
  assert.is(at(volume, 'secret.defaultMode'), 0o440);
  assert.is(at(pod, 'securityContext.fsGroup'), at(adapter, 'securityContext.runAsGroup'));
  const secret = one('Secret');
  assert.is(at(secret, 'metadata.name'), secretName);
  assert.is(at(secret, 'metadata.namespace'), at(one('Deployment'), 'metadata.namespace'));
  assert.ok(at(secret, 'stringData')[item['key']], `the Secret has the key ${item['key']}`);
  const username = env.find((e) => e['name'] === 'JVB_ADAPTER_REMOTE_WRITE_USERNAME')!;
  assert.is(at(username, 'valueFrom.secretKeyRef.name'), secretName);
  assert.ok(at(secret, 'stringData')[at(username, 'valueFrom.secretKeyRef.key')]);
  assert.match(env.find((e) => e['name'] === 'JVB_ADAPTER_REMOTE_WRITE_URL')?.['value'], /^https:\/\//);
});

k8s('the queue on an emptyDir with a sizeLimit above --storage.max-bytes, JVB_ADAPTER_STORAGE_PATH on it', () => {
  const pod = at(one('Deployment'), 'spec.template.spec');
  const adapter = (at(pod, 'containers') as Doc[]).find((c) => c['name'] === ADAPTER)!;
  const env = at(adapter, 'env') as Doc[];
  const path = env.find((e) => e['name'] === 'JVB_ADAPTER_STORAGE_PATH')?.['value'];
  const mount = (at(adapter, 'volumeMounts') as Doc[]).find((m) => m['mountPath'] === path)!;
  assert.ok(mount, `a volume is mounted at ${path}`);
  assert.not.ok(mount['readOnly']);
  const volume = (at(pod, 'volumes') as Doc[]).find((v) => v['name'] === mount['name'])!;
  const sizeLimit = quantity(at(volume, 'emptyDir.sizeLimit'));
  const maxBytes = byteSize.parse(env.find((e) => e['name'] === 'JVB_ADAPTER_STORAGE_MAX_BYTES')?.['value'] ?? findSetting('storage.max-bytes')!.spec.default!)!;
  assert.ok(maxBytes < sizeLimit * 0.9, `--storage.max-bytes ${maxBytes} stays below the emptyDir's sizeLimit ${sizeLimit} (past it the pod is evicted)`);
  assert.not.ok(env.some((e) => e['name'] === 'JVB_ADAPTER_STORAGE_IN_MEMORY'));
});

k8s('the adapter runs as non-root with a read-only root file system, no privilege escalation, no capabilities', () => {
  const adapter = (at(one('Deployment'), 'spec.template.spec.containers') as Doc[]).find((c) => c['name'] === ADAPTER)!;
  assert.is(at(adapter, 'securityContext.runAsNonRoot'), true);
  assert.ok(at(adapter, 'securityContext.runAsUser') > 0);
  assert.is(at(adapter, 'securityContext.readOnlyRootFilesystem'), true);
  assert.is(at(adapter, 'securityContext.allowPrivilegeEscalation'), false);
  assert.equal(at(adapter, 'securityContext.capabilities.drop'), ['ALL']);
  assert.is(at(adapter, 'securityContext.seccompProfile.type'), 'RuntimeDefault');
  assert.not.match(at(adapter, 'image'), /:latest$/);
});

k8s('Service + ServiceMonitor and PodMonitor (monitoring.coreos.com/v1) find the adapter\'s metrics port on the JVB pods', () => {
  const podLabels = at(one('Deployment'), 'spec.template.metadata.labels') as Record<string, string>;
  const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

  const service = one('Service');
  assert.ok(matches(at(service, 'spec.selector'), podLabels), 'the Service selects the JVB pods');
  const servicePort = (at(service, 'spec.ports') as Doc[]).find((p) => p['name'] === 'metrics')!;
  assert.is(at(servicePort, 'targetPort'), 'metrics');
  assert.is(at(servicePort, 'port'), 9001);

  const serviceMonitor = one('ServiceMonitor');
  assert.is(at(serviceMonitor, 'apiVersion'), 'monitoring.coreos.com/v1');
  assert.ok(matches(at(serviceMonitor, 'spec.selector.matchLabels'), at(service, 'metadata.labels')), 'the ServiceMonitor selects the Service');
  assert.ok((at(serviceMonitor, 'spec.namespaceSelector.matchNames') as string[]).includes(at(service, 'metadata.namespace')));
  const endpoint = at(serviceMonitor, 'spec.endpoints.0');
  assert.is(at(endpoint, 'port'), 'metrics');
  assert.is(at(endpoint, 'path'), '/metrics');
  assert.ok(durationMs.parse(at(endpoint, 'scrapeTimeout'))! < durationMs.parse(at(endpoint, 'interval'))!);

  const podMonitor = one('PodMonitor');
  assert.is(at(podMonitor, 'apiVersion'), 'monitoring.coreos.com/v1');
  assert.ok(matches(at(podMonitor, 'spec.selector.matchLabels'), podLabels), 'the PodMonitor selects the JVB pods');
  const podEndpoint = at(podMonitor, 'spec.podMetricsEndpoints.0');
  assert.is(at(podEndpoint, 'port'), 'metrics');
  assert.is(at(podEndpoint, 'path'), '/metrics');
  for (const e of [endpoint, podEndpoint]) {
    assert.equal(at(e, 'relabelings.0'), { sourceLabels: ['__meta_kubernetes_pod_name'], targetLabel: 'instance' }, 'instance: the pod name, as the pushed series');
  }
});

k8s.run();
