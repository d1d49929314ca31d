import { decodeGlobalID } from "@pothos/plugin-relay";
import { type GraphQLSchema, isObjectType } from "graphql";
import { badUserInput } from "../graphql-errors.ts";
import type { InstanceKey, RecordKey } from "../loaders.ts";
import { SLUG_PATTERN } from "../upstream/names.ts";

/*
 * The global ids of this API's node types, `base64("<Type>:<local id>")` as Relay's plugin writes
 * them, and how client input is checked against them. Ids are client input like any other: a
 * string that is not one is the caller's mistake (BAD_USER_INPUT naming the argument), and a
 * well-formed id that names nothing here is not found (`null`), never an internal error.
 */

/** Global ids of instances carry the namespace, since an instance id is unique only within one. */
const INSTANCE_ID_SEPARATOR = "/";

/** Longer than any id this API issues; not worth decoding. */
const MAX_GLOBAL_ID_LENGTH = 512;

/** The local id of an instance's global id: `<namespace>/<instance id>`. */
export const instanceLocalId = (instance: InstanceKey) =>
  `${instance.namespace}${INSTANCE_ID_SEPARATOR}${instance.id}`;

/** The local id of an item's or a job's global id: `<namespace>/<instance id>/<id>`. */
export const recordLocalId = (record: RecordKey) =>
  `${instanceLocalId({ namespace: record.namespace, id: record.instanceId })}${INSTANCE_ID_SEPARATOR}${record.id}`;

/** The namespace and instance id of an instance's local id, or `undefined` unless both are slugs. */
export function parseInstanceLocalId(localId: string): InstanceKey | undefined {
  const at = localId.indexOf(INSTANCE_ID_SEPARATOR);
  const key = { namespace: localId.slice(0, Math.max(at, 0)), id: localId.slice(at + 1) };
  return SLUG_PATTERN.test(key.namespace) && SLUG_PATTERN.test(key.id) ? key : undefined;
}

/** Each node type's check of its local id (what follows `<Type>:` in the decoded global id). */
const LOCAL_ID_RULES: Partial<Record<string, (localId: string) => boolean>> = {
  Namespace: (name) => SLUG_PATTERN.test(name),
  Instance: (localId) => parseInstanceLocalId(localId) !== undefined,
};

export interface NodeId {
  typename: string;
  id: string;
}

/**
 * The node a global id names; `null` when it is well formed but names no node type of this
 * subgraph (another subgraph's, through a router). BAD_USER_INPUT naming `argument` when it is not
 * a global id, or not a well-formed one for its type; `label` is how the message refers to it.
 */
export function parseNodeId(
  globalId: string,
  argument: string,
  schema: GraphQLSchema,
  label = `\`${argument}\``,
): NodeId | null {
  let decoded: NodeId | undefined;
  try {
    if (globalId.length <= MAX_GLOBAL_ID_LENGTH) decoded = decodeGlobalID(globalId);
  } catch {
    // Not base64, or no `<Type>:` prefix: refused below.
  }
  if (!decoded) {
    throw badUserInput(`${label} must be a global id, as returned in \`id\` fields`, argument);
  }
  const type = schema.getType(decoded.typename);
  if (!isObjectType(type) || !type.getInterfaces().some((i) => i.name === "Node")) return null;
  if (LOCAL_ID_RULES[decoded.typename]?.(decoded.id) === false) {
    throw badUserInput(`${label} is not a well-formed ${decoded.typename} id`, argument);
  }
  return decoded;
}
