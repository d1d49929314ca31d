/**
 * The management API of a bound client, part two: the items of an instance — list, read,
 * upload, (re)index, delete, and an item's chunks and logs. Items are addressed by id upstream;
 * find one by key with `listItems({ key })`.
 *
 * An upload streams: the multipart body is built around the caller's file stream as the
 * upstream reads it (chunked transfer), so the gateway never holds the file whole. Its body is
 * read once, so an upload is never retried.
 */
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { InvalidArgumentError } from "./errors.ts";
import { ManagementCalls } from "./management.ts";
import type {
  Item,
  ItemChunk,
  ItemDeleteResult,
  ItemLog,
  ItemStatus,
  ItemUploadResult,
} from "./management-types.ts";
import { assertItemId, assertItemKey, assertPage, assertSearch, segment } from "./names.ts";
import { type CallOptions, isObject, type Json, type Page } from "./options.ts";
import { exchange } from "./transport.ts";

export const ITEM_STATUSES: readonly ItemStatus[] = [
  "queued",
  "running",
  "completed",
  "error",
  "skipped",
  "outdated",
];
/** The upstream's largest page of items. */
export const MAX_ITEMS_PER_PAGE = 50;
/** The upstream's largest page of an item's chunks or logs. */
const MAX_ITEM_RECORDS_PER_PAGE = 100;
/** Largest chunk offset asked for; an item has far fewer chunks. */
const MAX_CHUNK_OFFSET = 1_000_000;
const LOG_CURSOR = /^[A-Za-z0-9_=+/.:-]{1,256}$/;
/** A MIME type safe in a part header; anything else goes as `application/octet-stream`. */
const MIME_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/i;
/** Upload keys travel as a part header's `filename`: printable ASCII only. */
const UPLOAD_KEY = /^[\x20-\x7e]+$/;

export interface ListItemsParams {
  page?: number;
  /** At most {@link MAX_ITEMS_PER_PAGE}. */
  perPage?: number;
  status?: ItemStatus;
  /** Keys containing this (upstream's matching). */
  search?: string;
  /** Exactly this key. */
  key?: string;
  sortBy?: "status" | "modified_at";
}

/** The file of an upload: its bytes, read once as the upstream takes them. */
export interface UploadSource {
  body: AsyncIterable<Uint8Array>;
  /** @default "application/octet-stream" (also for a type unfit for a header) */
  contentType?: string;
}

export interface UploadItemParams {
  /** The item key, sent as the file name: printable ASCII, a relative path. */
  key: string;
  file: UploadSource;
  /** Custom metadata, sent as the `metadata` part. */
  metadata?: Record<string, string | number | boolean>;
  /** Ask the upstream to wait (up to about 40 s) until the item is indexed. */
  waitForCompletion?: boolean;
}

const isRecord = (parsed: Json) => isObject(parsed.result);

function itemsQuery(params: ListItemsParams): string {
  const query = new URLSearchParams();
  if (params.page !== undefined) {
    assertPage(params.page);
    query.set("page", String(params.page));
  }
  if (params.perPage !== undefined) {
    assertCount(params.perPage, "perPage", MAX_ITEMS_PER_PAGE);
    query.set("per_page", String(params.perPage));
  }
  if (params.status !== undefined) {
    if (!ITEM_STATUSES.includes(params.status)) {
      throw new InvalidArgumentError("status", ITEM_STATUSES.join(", "));
    }
    query.set("status", params.status);
  }
  if (params.search !== undefined) {
    assertSearch(params.search);
    query.set("search", params.search);
  }
  if (params.key !== undefined) {
    assertItemKey(params.key);
    query.set("key", params.key);
  }
  if (params.sortBy !== undefined) {
    if (params.sortBy !== "status" && params.sortBy !== "modified_at") {
      throw new InvalidArgumentError("sortBy", '"status" or "modified_at"');
    }
    query.set("sort_by", params.sortBy);
  }
  const text = query.toString();
  return text ? `?${text}` : "";
}

function assertCount(value: unknown, argument: string, max: number): asserts value is number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new InvalidArgumentError(argument, `an integer from 1 to ${max}`);
  }
}

/** `multipart/form-data` around `file`, produced as the upstream reads it. */
async function* multipart(
  boundary: string,
  fields: [string, string][],
  key: string,
  file: UploadSource,
): AsyncGenerator<Uint8Array> {
  const type = file.contentType && MIME_TYPE.test(file.contentType) ? file.contentType : undefined;
  let head = "";
  for (const [name, value] of fields) {
    head += `--${boundary}\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  }
  head +=
    `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${key}"\r\n` +
    `content-type: ${type ?? "application/octet-stream"}\r\n\r\n`;
  yield Buffer.from(head);
  for await (const chunk of file.body) yield chunk;
  yield Buffer.from(`\r\n--${boundary}--\r\n`);
}

export abstract class ItemCalls extends ManagementCalls {
  async listItems(
    namespace: string,
    id: string,
    params: ListItemsParams = {},
    opts?: CallOptions,
  ): Promise<Page<Item>> {
    const path = `${this.instancePath(namespace, id)}/items${itemsQuery(params)}`;
    return this.list<Item>("listItems", path, params, opts);
  }

  async getItem(namespace: string, id: string, itemId: string, opts?: CallOptions): Promise<Item> {
    return (await this.record("getItem", this.#item(namespace, id, itemId), opts)) as Item;
  }

  /** Uploads one file as an item (`POST …/items`, multipart), streamed; never retried. */
  async uploadItem(
    namespace: string,
    id: string,
    params: UploadItemParams,
    opts?: CallOptions,
  ): Promise<ItemUploadResult> {
    const path = `${this.instancePath(namespace, id)}/items`;
    assertItemKey(params?.key);
    if (!UPLOAD_KEY.test(params.key)) {
      throw new InvalidArgumentError("key", "printable ASCII characters for an upload");
    }
    const fields: [string, string][] = [];
    if (params.metadata !== undefined) {
      if (!isObject(params.metadata)) {
        throw new InvalidArgumentError("metadata", "an object of string, number or boolean values");
      }
      for (const value of Object.values(params.metadata)) {
        if (!["string", "number", "boolean"].includes(typeof value)) {
          throw new InvalidArgumentError(
            "metadata",
            "an object of string, number or boolean values",
          );
        }
      }
      fields.push(["metadata", JSON.stringify(params.metadata)]);
    }
    if (params.waitForCompletion !== undefined) {
      fields.push(["wait_for_completion", params.waitForCompletion ? "true" : "false"]);
    }
    // 128 random bits: file content cannot collide with the boundary but by astronomical chance.
    const boundary = `aisearch-gateway-${randomBytes(16).toString("hex")}`;
    const request = exchange("uploadItem", "upload", "POST", path);
    request.raw = {
      contentType: `multipart/form-data; boundary=${boundary}`,
      body: Readable.from(multipart(boundary, fields, params.key, params.file), {
        objectMode: false,
      }),
    };
    return (await this.json(request, opts, isRecord)).result as ItemUploadResult;
  }

  /** (Re)indexes the item with this key from the instance's source (`PUT …/items`). */
  async createOrUpdateItem(
    namespace: string,
    id: string,
    params: { key: string; waitForCompletion?: boolean },
    opts?: CallOptions,
  ): Promise<Item> {
    const path = `${this.instancePath(namespace, id)}/items`;
    assertItemKey(params?.key);
    const body = {
      key: params.key,
      next_action: "INDEX",
      ...(params.waitForCompletion !== undefined && {
        wait_for_completion: params.waitForCompletion,
      }),
    };
    return (await this.write("createOrUpdateItem", "PUT", path, body, opts)) as Item;
  }

  async deleteItem(
    namespace: string,
    id: string,
    itemId: string,
    opts?: CallOptions,
  ): Promise<ItemDeleteResult> {
    const path = this.#item(namespace, id, itemId);
    return (await this.write("deleteItem", "DELETE", path, undefined, opts)) as ItemDeleteResult;
  }

  /** Indexes this one item again (`PATCH …/items/{id}`). */
  async syncItem(
    namespace: string,
    id: string,
    itemId: string,
    params: { waitForCompletion?: boolean } = {},
    opts?: CallOptions,
  ): Promise<Item> {
    const path = this.#item(namespace, id, itemId);
    const body = {
      next_action: "INDEX",
      ...(params.waitForCompletion !== undefined && {
        wait_for_completion: params.waitForCompletion,
      }),
    };
    return (await this.write("syncItem", "PATCH", path, body, opts)) as Item;
  }

  async listItemChunks(
    namespace: string,
    id: string,
    itemId: string,
    params: { limit?: number; offset?: number } = {},
    opts?: CallOptions,
  ): Promise<ItemChunk[]> {
    const query = new URLSearchParams();
    if (params.limit !== undefined) {
      assertCount(params.limit, "limit", MAX_ITEM_RECORDS_PER_PAGE);
      query.set("limit", String(params.limit));
    }
    if (params.offset !== undefined) {
      if (
        !Number.isSafeInteger(params.offset) ||
        params.offset < 0 ||
        params.offset > MAX_CHUNK_OFFSET
      ) {
        throw new InvalidArgumentError("offset", `an integer from 0 to ${MAX_CHUNK_OFFSET}`);
      }
      query.set("offset", String(params.offset));
    }
    const path = `${this.#item(namespace, id, itemId)}/chunks${suffix(query)}`;
    return this.array<ItemChunk>("listItemChunks", path, opts);
  }

  /** Newest first; `cursor` continues where a previous page ended (opaque). */
  async listItemLogs(
    namespace: string,
    id: string,
    itemId: string,
    params: { limit?: number; cursor?: string } = {},
    opts?: CallOptions,
  ): Promise<ItemLog[]> {
    const query = new URLSearchParams();
    if (params.limit !== undefined) {
      assertCount(params.limit, "limit", MAX_ITEM_RECORDS_PER_PAGE);
      query.set("limit", String(params.limit));
    }
    if (params.cursor !== undefined) {
      if (typeof params.cursor !== "string" || !LOG_CURSOR.test(params.cursor)) {
        throw new InvalidArgumentError("cursor", "a cursor from a previous page");
      }
      query.set("cursor", params.cursor);
    }
    const path = `${this.#item(namespace, id, itemId)}/logs${suffix(query)}`;
    return this.array<ItemLog>("listItemLogs", path, opts);
  }

  #item(namespace: string, id: string, itemId: string): string {
    const instance = this.instancePath(namespace, id);
    assertItemId(itemId);
    return `${instance}/items/${segment(itemId)}`;
  }
}

function suffix(query: URLSearchParams): string {
  const text = query.toString();
  return text ? `?${text}` : "";
}
