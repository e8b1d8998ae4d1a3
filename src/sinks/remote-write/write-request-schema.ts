// Loads the remote-write 1.0 protobuf schema (proto/prometheus/*.proto) with
// protobufjs and exposes its message types.
//
// The proto directory sits at the package root. This file runs both from
// src/sinks/remote-write/ (tsx) and from dist/sinks/remote-write/ (compiled),
// so the root is found by walking up from this file to the nearest
// package.json rather than by a fixed number of "..".

import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Root, type Type, type Enum } from 'protobufjs';

/** Plain-object shapes of the messages (protobufjs camelCases field names). */
export interface LabelMessage {
  name: string;
  value: string;
}
export interface SampleMessage {
  value: number;
  timestamp: number;
}
export interface TimeSeriesMessage {
  labels: LabelMessage[];
  samples?: SampleMessage[];
}
export interface MetricMetadataMessage {
  type: number;
  metricFamilyName: string;
  help: string;
  unit: string;
}
export interface WriteRequestMessage {
  timeseries?: TimeSeriesMessage[];
  metadata?: MetricMetadataMessage[];
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
  tags: WireTags;
}

/** Field keys (field number << 3 | wire type) as they appear on the wire. */
export interface WireTags {
  writeRequestTimeseries: number;
  writeRequestMetadata: number;
  timeSeriesLabels: number;
  timeSeriesSamples: number;
  labelName: number;
  labelValue: number;
  sampleValue: number;
  sampleTimestamp: number;
}

const WIRE_TYPE_VARINT = 0;
const WIRE_TYPE_FIXED64 = 1;
const WIRE_TYPE_LENGTH_DELIMITED = 2;

function tag(type: Type, field: string, wireType: number): number {
  const f = type.fields[field];
  if (!f) throw new Error(`remote-write schema mismatch: ${type.name}.${field} is missing`);
  return (f.id << 3) | wireType;
}

const REMOTE_PROTO = path.join('prometheus', 'remote.proto');

/** Directory holding prometheus/remote.proto: <package root>/proto. */
export function findProtoDir(startDir: string = __dirname): string {
  let dir = startDir;
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) {
      const candidate = path.join(dir, 'proto');
      if (existsSync(path.join(candidate, REMOTE_PROTO))) return candidate;
      throw new Error(`remote-write schema not found: ${path.join(candidate, REMOTE_PROTO)} is missing`);
    }
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new Error(`remote-write schema not found: no package.json above ${startDir}`);
    }
    dir = parent;
  }
}

let cached: WriteRequestSchema | undefined;

/** Loads (once) and returns the remote-write message types. */
export function getWriteRequestSchema(): WriteRequestSchema {
  if (cached) return cached;
  const root = new Root().loadSync(path.join(findProtoDir(), REMOTE_PROTO), { keepCase: false });
  root.resolveAll();
  const MetricMetadata = root.lookupType('prometheus.MetricMetadata');
  const WriteRequest = root.lookupType('prometheus.WriteRequest');
  const TimeSeries = root.lookupType('prometheus.TimeSeries');
  const Label = root.lookupType('prometheus.Label');
  const Sample = root.lookupType('prometheus.Sample');
  const schema: WriteRequestSchema = {
    root,
    WriteRequest,
    TimeSeries,
    Label,
    Sample,
    MetricMetadata,
    MetricType: MetricMetadata.lookupEnum('MetricType'),
    tags: {
      writeRequestTimeseries: tag(WriteRequest, 'timeseries', WIRE_TYPE_LENGTH_DELIMITED),
      writeRequestMetadata: tag(WriteRequest, 'metadata', WIRE_TYPE_LENGTH_DELIMITED),
      timeSeriesLabels: tag(TimeSeries, 'labels', WIRE_TYPE_LENGTH_DELIMITED),
      timeSeriesSamples: tag(TimeSeries, 'samples', WIRE_TYPE_LENGTH_DELIMITED),
      labelName: tag(Label, 'name', WIRE_TYPE_LENGTH_DELIMITED),
      labelValue: tag(Label, 'value', WIRE_TYPE_LENGTH_DELIMITED),
      sampleValue: tag(Sample, 'value', WIRE_TYPE_FIXED64),
      sampleTimestamp: tag(Sample, 'timestamp', WIRE_TYPE_VARINT),
    },
  };
  if (Sample.fields.value!.type !== 'double' || Sample.fields.timestamp!.type !== 'int64') {
    throw new Error('remote-write schema mismatch: Sample must be { double value = 1; int64 timestamp = 2; }');
  }
  for (const [name, number] of Object.entries(MetricTypeNumber)) {
    if (schema.MetricType.values[name] !== number) {
      throw new Error(`remote-write schema mismatch: MetricType.${name} is not ${number}`);
    }
  }
  cached = schema;
  return schema;
}
