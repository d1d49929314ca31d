import { builder } from "../builder.ts";
import type { InstanceRecord } from "../loaders.ts";
import type { Namespace } from "../upstream/types.ts";

/*
 * The refs of the two types that point at each other (a namespace lists its instances, an
 * instance names its namespace), declared apart so that namespace.ts and instance.ts, which
 * implement them, need not import each other.
 */

export const NamespaceRef = builder.objectRef<Namespace>("Namespace");

export const InstanceRef = builder.objectRef<InstanceRecord>("Instance");
