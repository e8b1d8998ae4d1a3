/**
 * What a TYPE line declares: the sample names of the family and what each
 * sample is to it (its role). Both grammars' types, as written in the body.
 */

export type RawType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped' | 'gaugehistogram' | 'info' | 'stateset' | 'unknown';

// Roles: small integers, compared in the per-sample path.
export const R_NONE = 0;
export const R_SCALAR = 1;
export const R_BUCKET = 2;
export const R_HSUM = 3;
export const R_HCOUNT = 4;
export const R_QUANTILE = 5;
export const R_SSUM = 6;
export const R_SCOUNT = 7;
/** An OpenMetrics `_created` sample: skipped. */
export const R_SKIP = 8;
/** A gauge histogram's `_bucket` sample: a gauge that must have `le`. */
export const R_GH_BUCKET = 9;
/** A gauge histogram's `_gcount`/`_gsum` sample: a gauge. */
export const R_GH_SCALAR = 10;

// Shared by every block of a type, in the order nameBlock() lists the names.
const ROLES_OM_COUNTER: readonly number[] = [R_SCALAR, R_SKIP];
const ROLES_SCALAR: readonly number[] = [R_SCALAR];
const ROLES_OM_HISTOGRAM: readonly number[] = [R_BUCKET, R_HSUM, R_HCOUNT, R_SKIP];
const ROLES_OM_SUMMARY: readonly number[] = [R_QUANTILE, R_SSUM, R_SCOUNT, R_SKIP];
const ROLES_GAUGE_HISTOGRAM: readonly number[] = [R_GH_BUCKET, R_GH_SCALAR, R_GH_SCALAR];
const ROLES_HISTOGRAM: readonly number[] = [R_BUCKET, R_HSUM, R_HCOUNT];
const ROLES_SUMMARY: readonly number[] = [R_QUANTILE, R_SSUM, R_SCOUNT];

/** The metadata of one name, and the sample names it declares with their roles (undefined until named). */
export interface NamedBlock {
  readonly name: string;
  type: RawType | undefined;
  names: string[] | undefined;
  roles: readonly number[] | undefined;
}

/** Sets a block's sample names and their roles, for its type in the body's format. */
export function nameBlock(block: NamedBlock, om: boolean): void {
  const m = block.name;
  let names: string[];
  let roles: readonly number[];
  if (om) {
    switch (block.type) {
      case 'counter':
        names = [`${m}_total`, `${m}_created`];
        roles = ROLES_OM_COUNTER;
        break;
      case 'info':
        names = [`${m}_info`];
        roles = ROLES_SCALAR;
        break;
      case 'histogram':
        names = [`${m}_bucket`, `${m}_sum`, `${m}_count`, `${m}_created`];
        roles = ROLES_OM_HISTOGRAM;
        break;
      case 'summary':
        names = [m, `${m}_sum`, `${m}_count`, `${m}_created`];
        roles = ROLES_OM_SUMMARY;
        break;
      case 'gaugehistogram':
        names = [`${m}_bucket`, `${m}_gcount`, `${m}_gsum`];
        roles = ROLES_GAUGE_HISTOGRAM;
        break;
      default:
        names = [m];
        roles = ROLES_SCALAR;
    }
  } else if (block.type === 'histogram') {
    names = [`${m}_bucket`, `${m}_sum`, `${m}_count`];
    roles = ROLES_HISTOGRAM;
  } else if (block.type === 'summary') {
    names = [m, `${m}_sum`, `${m}_count`];
    roles = ROLES_SUMMARY;
  } else {
    names = [m];
    roles = ROLES_SCALAR;
  }
  block.names = names;
  block.roles = roles;
}
