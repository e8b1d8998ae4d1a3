const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A label name a user may set: Prometheus' rule, and not one of the reserved `__` names. */
export function isUserLabelName(name: string): boolean {
  return LABEL_NAME.test(name) && !name.startsWith('__');
}
