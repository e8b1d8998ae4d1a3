// What the single-executable build (scripts/release.sh, scripts/bundle.js)
// writes into the bundle with esbuild's `define`, because a single executable
// has no package folder to read files from: the version and revision (read
// from package.json and dist/build-info.json otherwise) and the remote-write
// protobuf schema as protobufjs JSON (read from proto/*.proto otherwise).
// Undefined when running from dist/ (npm install, Docker) or src/ (tests).

declare const __JVB_ADAPTER_BUNDLE__: string | undefined;

export interface BundleInfo {
  readonly version: string;
  readonly revision: string | null;
  /** protobufjs' Root.toJSON() of proto/prometheus/remote.proto, as loaded with keepCase: false. */
  readonly remoteWriteSchema: Record<string, unknown>;
}

export const BUNDLE: BundleInfo | undefined =
  typeof __JVB_ADAPTER_BUNDLE__ === 'string' ? (JSON.parse(__JVB_ADAPTER_BUNDLE__) as BundleInfo) : undefined;
