/**
 * What a TYPE line declares: the sample names of the family and what each
 * sample is to it (its role). Both grammars' types, as written in the body.
 */

export type RawType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped' | 'gaugehistogram' | 'info' | 'stateset' | 'unknown';

/** What a sample is to its family (a const enum: compared per sample, compiled to literals). */
export const enum Role {
  NONE,
  SCALAR,
  BUCKET,
  HSUM,
  HCOUNT,
  QUANTILE,
  SSUM,
  SCOUNT,
  /** An OpenMetrics `_created` sample: skipped. */
  SKIP,
  /** A gauge histogram's `_bucket` sample: a gauge that must have `le`. */
  GH_BUCKET,
  /** A gauge histogram's `_gcount`/`_gsum` sample: a gauge. */
  GH_SCALAR,
}

// Shared by every block of a type, in the order nameBlock() lists the names.
const ROLES_OM_COUNTER: readonly Role[] = [Role.SCALAR, Role.SKIP];
const ROLES_SCALAR: readonly Role[] = [Role.SCALAR];
const ROLES_OM_HISTOGRAM: readonly Role[] = [Role.BUCKET, Role.HSUM, Role.HCOUNT, Role.SKIP];
const ROLES_OM_SUMMARY: readonly Role[] = [Role.QUANTILE, Role.SSUM, Role.SCOUNT, Role.SKIP];
const ROLES_GAUGE_HISTOGRAM: readonly Role[] = [Role.GH_BUCKET, Role.GH_SCALAR, Role.GH_SCALAR];
const ROLES_HISTOGRAM: readonly Role[] = [Role.BUCKET, Role.HSUM, Role.HCOUNT];
const ROLES_SUMMARY: readonly Role[] = [Role.QUANTILE, Role.SSUM, Role.SCOUNT];

/** The metadata of one name, and the sample names it declares with their roles (undefined until named). */
export interface NamedBlock {
  readonly name: string;
  type: RawType | undefined;
  names: string[] | undefined;
  roles: readonly Role[] | undefined;
}

/** Sets a block's sample names and their roles, for its type in the body's format. */
export function nameBlock(block: NamedBlock, om: boolean): void {
  const m = block.name;
  let names: string[];
  let roles: readonly Role[];
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
