import { resolveOffsetConnection } from "@pothos/plugin-relay";
import type { SchemaTypes } from "../builder.ts";

/** The most a client may ask for in one connection page; also the upstream's largest page. */
export const MAX_PAGE_SIZE = 100;
/** Page size when a client gives neither `first` nor `last`. */
export const DEFAULT_PAGE_SIZE = 20;

export interface UpstreamPage<T> {
  items: T[];
  totalCount?: number;
}

/**
 * Relay connections count by offset; the upstream counts by page. Reads the upstream pages that
 * cover `[offset, offset + limit)` (at most two or three, since `limit` is capped) and slices.
 */
export async function fetchWindow<T>(
  offset: number,
  limit: number,
  fetchPage: (page: number, perPage: number) => Promise<UpstreamPage<T>>,
  maxPerPage = MAX_PAGE_SIZE,
): Promise<UpstreamPage<T>> {
  const perPage = Math.min(Math.max(limit, 1), maxPerPage);
  let page = Math.floor(offset / perPage) + 1;
  const skip = offset - (page - 1) * perPage;
  const items: T[] = [];
  let totalCount: number | undefined;
  while (items.length < skip + limit) {
    const result = await fetchPage(page, perPage);
    totalCount = result.totalCount;
    items.push(...result.items);
    if (result.items.length < perPage) break;
    page++;
  }
  return { items: items.slice(skip, skip + limit), totalCount };
}

interface ConnectionArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
}

/**
 * A Relay connection over an upstream list: the page window for the client's cursors, plus the
 * upstream's `total_count`, which Relay has no field for.
 */
export async function resolvePagedConnection<T>(
  args: ConnectionArgs,
  fetchPage: (page: number, perPage: number) => Promise<UpstreamPage<T>>,
  /** The upstream's largest page, when smaller than a connection's (items: 50). */
  maxPerPage = MAX_PAGE_SIZE,
) {
  let totalCount: number | undefined;
  const connection = await resolveOffsetConnection(
    { args, defaultSize: DEFAULT_PAGE_SIZE, maxSize: MAX_PAGE_SIZE },
    async ({ offset, limit }) => {
      const window = await fetchWindow(offset, limit, fetchPage, maxPerPage);
      totalCount = window.totalCount;
      return window.items;
    },
  );
  return { ...connection, totalCount };
}

/** Options for a connection type that exposes `totalCount` next to Relay's fields. */
export function connectionWithTotalCount(noun: string) {
  return {
    description: `A page of ${noun}.`,
    fields: (c: PothosSchemaTypes.ObjectFieldBuilder<SchemaTypes, object>) => ({
      totalCount: c.int({
        nullable: true,
        description: `How many ${noun} match, across all pages (when the upstream tells).`,
        resolve: (connection) => (connection as { totalCount?: number }).totalCount ?? null,
      }),
    }),
  };
}
