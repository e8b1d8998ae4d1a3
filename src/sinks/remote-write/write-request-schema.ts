// Loads the remote-write 1.0 protobuf schema (proto/prometheus/*.proto) with
// protobufjs: metadata requests are encoded with it, and the tests read the
// field numbers from it. (Sample requests are written by hand in
// sample-request-writer.ts.)
//
// The proto directory sits at the package root. This file runs both from
// src/sinks/remote-write/ (tsx) and from dist/sinks/remote-write/ (compiled),
// so the root is found by walking up from this file to the nearest
// package.json rather than by a fixed number of "..".

import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Root, type Type, type Enum } from 'protobufjs';
import { BUNDLE } from '../../bundle-info';

/** A MetricMetadata as protobufjs takes it (camelCased field names). */
export interface MetricMetadataMessage {
  type: number;
  metricFamilyName: string;
  help: string;
  unit: string;
}

/** prometheus.MetricMetadata.MetricType values (wire numbers). */
export const MetricTypeNumber = {
  UNKNOWN: 0,
  COUNTER: 1,
  GAUGE: 2,
  HISTOGRAM: 3,
  GAUGEHISTOGRAM: 4,
  SUMMARY: 5,
  INFO: 6,
  STATESET: 7,
} as const;

export interface WriteRequestSchema {
  root: Root;
  WriteRequest: Type;
  TimeSeries: Type;
  Label: Type;
  Sample: Type;
  MetricMetadata: Type;
  MetricType: Enum;
}

const REMOTE_PROTO = path.join('prometheus', 'remote.proto');

/** Directory holding prometheus/remote.proto: <package root>/proto. */
function findProtoDir(startDir: string = __dirname): string {
  for (let dir = startDir; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) {
      const candidate = path.join(dir, 'proto');
      if (existsSync(path.join(candidate, REMOTE_PROTO))) return candidate;
      throw new Error(`remote-write schema not found: ${path.join(candidate, REMOTE_PROTO)} is missing`);
    }
    if (path.dirname(dir) === dir) throw new Error(`remote-write schema not found: no package.json above ${startDir}`);
  }
}

let cached: WriteRequestSchema | undefined;

/** Loads (once) and returns the remote-write message types. */
export function getWriteRequestSchema(): WriteRequestSchema {
  if (cached) return cached;
  // The single executable has no proto/ folder: its bundle carries the schema, loaded the same way at build time.
  const root = BUNDLE !== undefined ? Root.fromJSON(BUNDLE.remoteWriteSchema) : new Root().loadSync(path.join(findProtoDir(), REMOTE_PROTO), { keepCase: false });
  root.resolveAll();
  const MetricMetadata = root.lookupType('prometheus.MetricMetadata');
  const schema: WriteRequestSchema = {
    root,
    WriteRequest: root.lookupType('prometheus.WriteRequest'),
    TimeSeries: root.lookupType('prometheus.TimeSeries'),
    Label: root.lookupType('prometheus.Label'),
    Sample: root.lookupType('prometheus.Sample'),
    MetricMetadata,
    MetricType: MetricMetadata.lookupEnum('MetricType'),
  };
  for (const [name, number] of Object.entries(MetricTypeNumber)) {
    if (schema.MetricType.values[name] !== number) {
      throw new Error(`remote-write schema mismatch: MetricType.${name} is not ${number}`);
    }
  }
  cached = schema;
  return schema;
}
